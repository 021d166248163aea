package dev.genset.engine.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a {@link KvCache} stores its keys or its values, named as llama.cpp's {@code --cache-type-k}
 * and {@code --cache-type-v} name them. f16 halves the memory of f32 (llama.cpp's default too);
 * q8_0 takes a little more than half of f16's: ggml's block of 32 numbers as 8-bit integers with
 * one f16 scale, here 32 channels of one position; q4_0 a little more than a quarter (4-bit
 * integers). Attention converts a tile at a time back to f32 and computes in f32, so the types
 * differ only by the rounding of what is stored.
 */
public enum KvType {
    F32(Float.BYTES, 1),
    F16(Short.BYTES, 1),
    /** 32 bytes of quants and a 2-byte scale per block of 32. */
    Q8_0(34, 32),
    /** 16 bytes of 4-bit quants (offset by 8) and a 2-byte scale per block of 32. */
    Q4_0(18, 32);

    private final int blockBytes, blockSize;

    KvType(int blockBytes, int blockSize) {
        this.blockBytes = blockBytes;
        this.blockSize = blockSize;
    }

    /** Numbers stored together (sharing a scale): a head's size must be a multiple of it. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes that {@code numbers} numbers take, a multiple of {@link #blockSize} of them. */
    public long bytes(long numbers) {
        if (numbers % blockSize != 0) throw new IllegalArgumentException(numbers + " numbers are not whole blocks of " + label());
        return numbers / blockSize * blockBytes;
    }

    /** The name on the command line and in reports: "f32", "f16", "q8_0", "q4_0". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KvType parse(String name) {
        for (KvType t : values()) if (t.label().equalsIgnoreCase(name.trim())) return t;
        throw new IllegalArgumentException("unsupported KV cache type '" + name + "' (supported: "
                + Arrays.stream(values()).map(KvType::label).collect(Collectors.joining(", ")) + ")");
    }
}
