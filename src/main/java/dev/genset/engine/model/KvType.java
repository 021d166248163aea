package dev.genset.engine.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a {@link KvCache} stores its keys or its values, named as llama.cpp's {@code --cache-type-k}
 * and {@code --cache-type-v} name them. f16 halves the memory of f32 (llama.cpp's default too);
 * attention converts a tile at a time back to f32 and computes in f32, so the two differ only by
 * the rounding of each stored number to half precision.
 */
public enum KvType {
    F32(Float.BYTES),
    F16(Short.BYTES);

    private final int bytes;

    KvType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per stored number. */
    public int bytes() {
        return bytes;
    }

    /** The name on the command line and in reports: "f32", "f16". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KvType parse(String name) {
        for (KvType t : values()) if (t.label().equalsIgnoreCase(name.trim())) return t;
        throw new IllegalArgumentException("unsupported KV cache type '" + name + "' (supported: "
                + Arrays.stream(values()).map(KvType::label).collect(Collectors.joining(", ")) + ")");
    }
}
