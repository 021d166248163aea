package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufFile;
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
public abstract sealed class FloatTensor
        permits F32Tensor, F16Tensor, BF16Tensor, Q8_0Tensor, Q4_0Tensor, Q4_KTensor, Q6_KTensor, DecodedTensor {
    /** What the kernels read: the stored bytes, as a plain native segment where they were mapped from a file ({@link GgufFile#nativeView}). */
    protected final MemorySegment segment;
    /** The stored bytes as given: for a model file, its mapped pages, which repacking releases once packed. */
    private final MemorySegment stored;
    protected final long size;

    protected FloatTensor(MemorySegment segment, long size) {
        this.stored = segment;
        this.segment = GgufFile.nativeView(segment);
        this.size = size;
    }

    /** The stored bytes as given ({@link #segment} may be a view of them). */
    final MemorySegment stored() {
        return stored;
    }

    public abstract GgmlType type();

    /**
     * Frees memory the tensor allocated beside its stored bytes (a form repacked for the kernels),
     * at once rather than when the collector finds it; the tensor is not used afterwards.
     */
    public void release() {}

    /** Bytes of memory the form the kernels repack this tensor into takes beside the stored bytes; 0 if none. */
    public long repackedBytes() {
        return 0;
    }

    /**
     * Keeps products of this tensor on its stored bytes, where they would otherwise repack it
     * ({@link #repackedBytes}): slower, no extra memory. Called before the first product, or not at all.
     */
    public void keepStored() {}

    /**
     * Says that a model's repacking ahead of use is to make this tensor's repacked form (true from
     * the model's load until that repacking ends): until it is made, products of a few rows read
     * the stored bytes in the repacked form's order, where the tensor's type has such a kernel
     * (Q8_0, Q4_0, Q4_K and Q6_K), instead of making it or waiting for it; their results are the same bit for
     * bit. Nothing for the other types. Returns whether this tensor's products can so do without
     * the form.
     */
    public boolean expectRepackingAhead(boolean ahead) {
        InterleavedRows.Slot<?, ?> slot = interleavedSlot();
        if (slot == null) return false;
        slot.expectAhead(ahead);
        return !slot.keepsStored();
    }

    /** Whether products of a few rows read the stored bytes in the interleaved form's order ({@link #expectRepackingAhead}). */
    final boolean comingAhead(int cols) {
        InterleavedRows.Slot<?, ?> slot = interleavedSlot();
        return slot != null && slot.comingAhead(this, cols);
    }

    /** Where the tensor keeps its form with eight rows interleaved (Q8_0, Q4_0, Q4_K, Q6_K: each has an in-order kernel); else null. */
    InterleavedRows.Slot<?, ?> interleavedSlot() {
        return null;
    }

    /** Whether the repacked form products take ({@link #repackedBytes}) has been made. */
    public boolean repacked() {
        return false;
    }

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

    /**
     * Writes this[offset .. offset + n) to out[outOffset ..]. Whole blocks go through the type's
     * fast block decoder; a partial block at either end falls back to {@link #getFloat}.
     */
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        int bs = type().blockSize;
        int head = (int) Math.min(n, (bs - offset % bs) % bs);
        for (int i = 0; i < head; i++) out[outOffset + i] = getFloat(offset + i);
        offset += head;
        outOffset += head;
        n -= head;
        int whole = n / bs * bs;
        if (whole > 0) dequantizeBlocks(offset / bs, out, outOffset, whole / bs);
        for (int i = whole; i < n; i++) out[outOffset + i] = getFloat(offset + i);
    }

    /** Decodes {@code blocks} whole blocks starting at block index {@code block}. */
    abstract void dequantizeBlocks(long block, float[] out, int outOffset, int blocks);

    /** Wraps the bytes of a tensor of the given type and element count. */
    public static FloatTensor of(GgmlType type, MemorySegment segment, long size) {
        if (size % type.blockSize != 0)
            throw new GgufFormatException(type + " tensor of " + size + " values is not a whole number of " + type.blockSize + "-value blocks");
        long need = type.byteSize(size);
        if (segment.byteSize() < need)
            throw new GgufFormatException(type + " tensor of " + size + " values needs " + need + " bytes, has " + segment.byteSize());
        return switch (type) {
            case F32 -> new F32Tensor(segment, size);
            case F16 -> new F16Tensor(segment, size);
            case BF16 -> new BF16Tensor(segment, size);
            case Q8_0 -> new Q8_0Tensor(segment, size);
            case Q4_0 -> new Q4_0Tensor(segment, size);
            case Q4_K -> new Q4_KTensor(segment, size);
            case Q6_K -> new Q6_KTensor(segment, size);
            default -> {
                if (DecodedTensor.handles(type)) yield new DecodedTensor(type, segment, size);
                throw new UnsupportedTensorTypeException(type);
            }
        };
    }
}
