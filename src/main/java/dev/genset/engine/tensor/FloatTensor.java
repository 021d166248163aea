package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufFormatException;

import java.lang.foreign.MemorySegment;

/**
 * A read-only tensor of {@link #size()} values stored in one ggml type, read in place from a
 * memory segment (usually the memory-mapped model file). Subclasses exist per storage type and
 * provide a scalar reference and a vectorised fast path for the operations the forward pass needs.
 *
 * <p>Weight matrices are row-major with {@code cols} values per row, as ggml stores them
 * (ggml's ne0 = cols); row r starts at element {@code r * cols}.
 */
public abstract class FloatTensor {
    protected final MemorySegment segment;
    protected final long size;

    protected FloatTensor(MemorySegment segment, long size) {
        this.segment = segment;
        this.size = size;
    }

    public abstract GgmlType type();

    public final long size() {
        return size;
    }

    public final MemorySegment segment() {
        return segment;
    }

    /** The value at {@code index} (slow: for tests and odd cases, not kernels). */
    public abstract float getFloat(long index);

    /** sum over i in [0, n) of this[offset + i] * x[xOffset + i]. offset and n are whole blocks. */
    public abstract float dot(long offset, float[] x, int xOffset, int n);

    /** Writes this[offset .. offset + n) to out[outOffset ..]. */
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) out[outOffset + i] = getFloat(offset + i);
    }

    /** Wraps the bytes of a tensor of the given type and element count. */
    public static FloatTensor of(GgmlType type, MemorySegment segment, long size) {
        long need = type.byteSize(size);
        if (segment.byteSize() < need)
            throw new GgufFormatException(type + " tensor of " + size + " values needs " + need + " bytes, has " + segment.byteSize());
        return switch (type) {
            case F32 -> new F32Tensor(segment, size);
            default -> throw new UnsupportedTensorTypeException(type);
        };
    }
}
