package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.L;

/**
 * The block-quantized types read through {@link BlockDecoders}: Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q5_K,
 * IQ4_NL and IQ4_XS. Common quantization mixes use them beside the types with classes of their own
 * (Q5_K in Q5_K_M and Q3_K_M files, Q5_0 where a row is too short for 256-value blocks).
 *
 * <p>How their matrix products are taken: Q5_K, IQ4_NL and IQ4_XS by integer kernels that read them
 * in place ({@link IntKernels#dotQ5_K}, {@link IntKernels#dotIQ4_XS}); Q3_K and Q5_0 by Q6_K's kernels
 * on a repacked form ({@link PackedQuants}) where memory allows, else Q3_K in place and Q5_0 as the
 * rest; Q4_1, Q5_1 and Q2_K by decoding each block to floats and fusing those with the activations,
 * which is {@link #dot}: the canonical float sequence of {@link MatMul} (one accumulator over L-value
 * chunks in column order, lanes summed in order), so single-row and batched products agree bit for bit.
 */
public final class DecodedTensor extends FloatTensor {
    private final GgmlType type;
    private final BlockDecoders.Decoder decoder;
    /** The form the integer kernels multiply, for the types that have one ({@link PackedQuants#packs}). */
    private final PackedQuants.Slot packed = new PackedQuants.Slot();
    /** Set by {@link #keepStored}: products read the stored blocks instead. */
    private volatile boolean stored;

    /** A block's values, per thread: the largest block is 256 values. */
    private static final ThreadLocal<float[]> BLOCK = ThreadLocal.withInitial(() -> new float[256]);

    DecodedTensor(GgmlType type, MemorySegment segment, long size) {
        super(segment, size);
        this.type = type;
        this.decoder = BlockDecoders.of(type);
        if (decoder == null) throw new UnsupportedTensorTypeException(type);
    }

    @Override
    public void release() {
        packed.free();
    }

    /** Whether products take the integer kernels through {@link #packed}. */
    boolean packs() {
        return !stored && PackedQuants.packs(type);
    }

    @Override
    public boolean repacked() {
        return packed.made();
    }

    @Override
    public long repackedBytes() {
        return packs() ? PackedQuants.bytes(size) : 0;
    }

    @Override
    public void keepStored() {
        stored = true;
    }

    /** The packed form, made on first use with the pool's threads. */
    PackedQuants packed(Parallel pool) {
        return packed.get(this, pool);
    }

    /** Whether this class handles {@code type}. */
    static boolean handles(GgmlType type) {
        return BlockDecoders.of(type) != null;
    }

    @Override
    public GgmlType type() {
        return type;
    }

    @Override
    public float getFloat(long index) {
        float[] block = new float[type.blockSize];
        decoder.decode(segment, index / type.blockSize * type.typeSize, block, 0);
        return block[(int) (index % type.blockSize)];
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        int bs = type.blockSize;
        float[] block = BLOCK.get();
        long first = offset / bs;
        if (!Simd.ENABLED) {
            float sum = 0f;
            for (int i = 0; i < n; i += bs) {
                decoder.decode(segment, (first + i / bs) * type.typeSize, block, 0);
                for (int j = 0; j < bs; j++) sum += block[j] * x[xOffset + i + j];
            }
            return sum;
        }
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < n; i += bs) {
            decoder.decode(segment, (first + i / bs) * type.typeSize, block, 0);
            for (int j = 0; j < bs; j += L) acc = FloatVector.fromArray(F, block, j).fma(FloatVector.fromArray(F, x, xOffset + i + j), acc);
        }
        return Simd.sum(acc);
    }

    @Override
    void dequantizeBlocks(long block, float[] out, int outOffset, int blocks) {
        int bs = type.blockSize;
        for (int i = 0; i < blocks; i++) decoder.decode(segment, (block + i) * type.typeSize, out, outOffset + i * bs);
    }
}
