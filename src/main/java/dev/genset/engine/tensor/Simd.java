package dev.genset.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector species shared by the kernels. The float species has 256 bits (8 lanes), also where the
 * CPU prefers 512 (AVX-512); the byte/short/int species have the same lane count so that a load of
 * L packed values widens to exactly one float vector. Why not 512 there: the integer kernels work in
 * 256-bit vectors (and {@link IntKernels#WIDE_Q4}'s in 512), and with the float kernels in a third set of
 * shapes the JIT's profiles of the Vector API's shared code saw too many vector classes: batched
 * products were then compiled, some runs and not others, with vectors left as objects (allocating
 * and many times slower). The property {@code genset.vectorBits} (256 or 512) overrides the choice
 * (512 also brings in the attention's 512-bit vectors); {@code genset.vectorBits=0} disables the
 * vector paths. The 512-bit shapes in a default process on such a CPU are {@link FloatGemm}'s float
 * tile, {@link ShortGemm}'s 16-bit tiles and the Q4_0, Q4_K, Q8_0 and Q6_K decoding kernels
 * ({@link IntKernels#WIDE_Q4}, {@link IntKernels#WIDE_Q8_0}, {@link IntKernels#WIDE_Q6_K}),
 * each with species of its own, which the allocation checks cover in processes of their own.
 */
final class Simd {
    private Simd() {}

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final VectorSpecies<Float> F;
    /** Float lanes per vector (8 or 16). */
    static final int L;
    static final VectorSpecies<Byte> B;
    static final VectorSpecies<Short> S;
    static final VectorSpecies<Integer> I;
    /** Whether kernels take their vector path; false on CPUs with fewer than 8 float lanes. */
    static final boolean ENABLED;

    static {
        int bits = Integer.getInteger("genset.vectorBits", Math.min(256, FloatVector.SPECIES_PREFERRED.vectorBitSize()));
        ENABLED = bits >= 256;
        F = FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(ENABLED ? Math.min(bits, 512) : 256));
        L = F.length();
        B = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 8));
        S = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 16));
        I = IntVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 32));
    }

    /**
     * The lanes of v added one after another from lane 0: a fixed order, unlike
     * {@code reduceLanes(ADD)}, whose order may differ between interpreted and compiled code. Every
     * kernel finishes a dot product with this, which is what keeps results batch-invariant.
     */
    static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < L; i++) s += v.lane(i);
        return s;
    }

    /**
     * The end of a block-form dot product (see {@link Q8_0Tensor#dotVector}): the two rotating
     * accumulators added, the most recent first, then the lanes summed in order.
     */
    static float sum(FloatVector a0, FloatVector a1) {
        return sum(a0.add(a1));
    }

    /** The fp16 value stored at byte offset {@code off}. */
    static float f16(java.lang.foreign.MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(LE_SHORT, off));
    }
}
