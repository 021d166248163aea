package dev.genset.engine.model;

import dev.genset.engine.tensor.ColdStart;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/** Small vectorised operations on float arrays used by the forward pass (attention, norms). */
final class ArrayMath {
    /**
     * 256 bits where the CPU prefers 512 too, as the tensor kernels' float species (see there why: a
     * third set of vector shapes in one process made the JIT leave vectors as objects in some runs);
     * {@code genset.vectorBits=512} takes the wider one.
     */
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(
            Math.max(128, Math.min(Integer.getInteger("genset.vectorBits", 256), FloatVector.SPECIES_PREFERRED.vectorBitSize()))));
    /** Integers and bytes with S's lanes, for widening a vector's worth of 8-bit integers to floats. */
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(S.length() * Byte.SIZE));

    private ArrayMath() {}

    /**
     * Attention scores of one query against a tile of {@link #TILE} keys in {@link KvCache}'s
     * layout (channel c of the tile's position j at keys[ko + c * TILE + j]):
     * s[so + j] = scale * (the sum over c in [0, dim) of q[qo + c] * key_j[c]), the sum one fma a
     * channel in order of c, from zero, a position a lane. The tile's eight vectors go side by side,
     * eight chains of fmas that overlap their latency, their loads at fixed distances from one
     * index. There is no sum across lanes: that took longer than the products it summed.
     */
    static void scores(float[] s, int so, float[] q, int qo, float[] keys, int ko, int dim, float scale) {
        if (ColdStart.on()) {
            ScalarMath.scores(s, so, q, qo, keys, ko, dim, scale);
            return;
        }
        int lanes = S.length();
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int c = 0, at = ko; c < dim; c++, at += TILE) {
            FloatVector qc = FloatVector.broadcast(S, q[qo + c]);
            a0 = FloatVector.fromArray(S, keys, at).fma(qc, a0);
            a1 = FloatVector.fromArray(S, keys, at + lanes).fma(qc, a1);
            a2 = FloatVector.fromArray(S, keys, at + 2 * lanes).fma(qc, a2);
            a3 = FloatVector.fromArray(S, keys, at + 3 * lanes).fma(qc, a3);
            a4 = FloatVector.fromArray(S, keys, at + 4 * lanes).fma(qc, a4);
            a5 = FloatVector.fromArray(S, keys, at + 5 * lanes).fma(qc, a5);
            a6 = FloatVector.fromArray(S, keys, at + 6 * lanes).fma(qc, a6);
            a7 = FloatVector.fromArray(S, keys, at + 7 * lanes).fma(qc, a7);
        }
        FloatVector by = FloatVector.broadcast(S, scale);  // the receiver, not the sums: a loop's vector has no class C2 knows
        by.mul(a0).intoArray(s, so);
        by.mul(a1).intoArray(s, so + lanes);
        by.mul(a2).intoArray(s, so + 2 * lanes);
        by.mul(a3).intoArray(s, so + 3 * lanes);
        by.mul(a4).intoArray(s, so + 4 * lanes);
        by.mul(a5).intoArray(s, so + 5 * lanes);
        by.mul(a6).intoArray(s, so + 6 * lanes);
        by.mul(a7).intoArray(s, so + 7 * lanes);
    }

    /**
     * The lanes added one after another. reduceLanes(ADD) leaves the order open, and the JIT's
     * intrinsic and the interpreter's fallback do differ in the last bit; this order is fixed, so
     * a result never depends on when the code was compiled. Always inlined (the launcher's JIT
     * flags): passed to a call C2 did not inline, its vector was boxed.
     */
    static float sumLanes(FloatVector v) {
        float sum = 0f;
        for (int i = 0; i < v.length(); i++) sum += v.lane(i);
        return sum;
    }

    /** out[oi + i] = x[xi + i] * rms_scale * weight[i], the RMS taken over x[xi .. xi+n) as ggml does it (double sum). */
    static void rmsNorm(float[] out, int oi, float[] x, int xi, float[] weight, int n, float eps) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double) (x[xi + i] * x[xi + i]);
        float mean = (float) (sum / n);
        float scale = (float) (1.0 / Math.sqrt(mean + eps));
        for (int i = 0; i < n; i++) out[oi + i] = x[xi + i] * scale * weight[i];
    }

    /** x[i] += y[i] for i in [0, n): the residual connection. */
    static void addTo(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) x[i] += y[i];
    }

    /** x[xOff + i] += scale * y[yOff + i] for i in [0, n): an expert's output, weighted, into a row's sum. */
    static void addScaled(float[] x, int xOff, float[] y, int yOff, float scale, int n) {
        for (int i = 0; i < n; i++) x[xOff + i] += scale * y[yOff + i];
    }

    /**
     * gate[i] = silu(gate[i]) * up[i] for i in [0, n): SwiGLU's gating, silu(g) = g / (1 + e^-g),
     * a vector at a time. e^x within a few units in the last place of {@link Math#exp} (Cephes'
     * expf: x = k ln 2 + r with |r| <= ln 2 / 2, a polynomial for e^r, 2^k put into the exponent
     * bits), from additions, multiplications, fmas and integer bit operations only, which give the
     * same bits compiled or not (the Vector API's own EXP is a different function once the JIT
     * compiles it, so a result would depend on compile timing); x clamped to [-87.3, 88.5] first,
     * beyond which silu is g itself or a number too small to matter. The last (up to) one vector's
     * worth of elements is copied to {@code scratch} (2 * {@link #LANES} floats), padded, before
     * the loop overwrites any of it, and its step reads and writes there: every element goes
     * through the same operations wherever it sits. One loop body, with nothing called: a vector
     * passed to or returned from a helper that C2 did not inline (which depends on compile timing)
     * is boxed, and a masked tail allocated its mask. With {@link Math#exp} one element at a time
     * this took 5 to 6 ms per layer for a 128-token prompt on one thread, about 4% of the prompt.
     */
    static void swiGlu(float[] gate, float[] up, int n, float[] scratch) {
        swiGlu(gate, up, 0, n, scratch);
    }

    /**
     * {@link #swiGlu} over [off, off + n): each element goes through the same operations as in a
     * call over the whole array (lanes do not mix), so a range split into parts gives the same bits.
     */
    static void swiGlu(float[] gate, float[] up, int off, int n, float[] scratch) {
        if (ColdStart.on()) {
            ScalarMath.swiGlu(gate, up, off, n);
            return;
        }
        int lanes = S.length(), last = off + Math.max(0, n - lanes), tail = off + n - last, full = n / lanes;
        System.arraycopy(gate, last, scratch, 0, tail);
        Arrays.fill(scratch, tail, lanes, 0f);
        System.arraycopy(up, last, scratch, lanes, tail);
        Arrays.fill(scratch, lanes + tail, 2 * lanes, 0f);
        for (int k = 0; k <= full; k++) {
            boolean inScratch = k == full;
            float[] gs = inScratch ? scratch : gate, us = inScratch ? scratch : up;
            int go = inScratch ? 0 : off + k * lanes, uo = inScratch ? lanes : off + k * lanes;
            FloatVector g = FloatVector.fromArray(S, gs, go);
            g.div(exp(g.neg()).add(1f)).mul(FloatVector.fromArray(S, us, uo)).intoArray(gs, go);
        }
        System.arraycopy(scratch, 0, gate, last, tail);
    }

    /**
     * e^x lane by lane ({@link #swiGlu} says how), x clamped to [-87.3, 88.5]. Each lane's result
     * depends on that lane alone. Always inlined (the launcher's JIT flags): a vector passed to a
     * call C2 did not inline is boxed.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(-87.3f).min(88.5f);
        FloatVector t = c.fma(LOG2E, ROUNDER);
        FloatVector kf = t.sub(ROUNDER);
        FloatVector r = kf.fma(FloatVector.broadcast(S, -LN2_HIGH), c);
        r = kf.fma(FloatVector.broadcast(S, -LN2_LOW), r);
        FloatVector p = r.fma(P5, P4);
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P1));
        p = p.fma(r, FloatVector.broadcast(S, P0));
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) t.reinterpretShape(I, 0)).sub(EXPONENT_OFFSET).lanewise(VectorOperators.LSHL, 23);
        return er.mul((FloatVector) bits.reinterpretShape(S, 0));
    }

    /**
     * Softmax numerators in place: s[so + i] = e^(s[so + i] - max) for i in [0, n), max the largest;
     * returns their sum. One loop body for every vector, the last (partial) one read from and
     * written to {@code scratch} ({@link #LANES} floats, padded with the maximum), as {@link #swiGlu}
     * does: a separate path for the partial vector was compiled as a rare one, with its vector
     * operations left as calls that box. The sum is taken in an order fixed by n alone: lane j of a
     * vector accumulator takes elements j, j + LANES, ... (padding counts zero), then the lanes are
     * added in order. The accumulator is the argument of each add, never its receiver: a loop's
     * vector has no class C2 knows unless a profile says so.
     */
    static float softmaxNumerators(float[] s, int so, int n, float[] scratch) {
        if (ColdStart.on()) return ScalarMath.softmaxNumerators(s, so, n, scratch);
        int lanes = S.length(), full = n / lanes, whole = full * lanes, tail = n - whole;
        // the maximum a vector at a time (a maximum is the same whatever the order it is taken in)
        FloatVector most = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < full; k++) most = FloatVector.fromArray(S, s, so + k * lanes).max(most);
        most.intoArray(scratch, 0);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < lanes; j++) max = Math.max(max, scratch[j]);
        for (int i = whole; i < n; i++) max = Math.max(max, s[so + i]);
        System.arraycopy(s, so + whole, scratch, 0, tail);
        Arrays.fill(scratch, tail, lanes, max);
        FloatVector m = FloatVector.broadcast(S, max), acc = FloatVector.zero(S);
        for (int k = 0; k <= full; k++) {
            boolean inScratch = k == full;
            float[] a = inScratch ? scratch : s;
            int o = inScratch ? 0 : so + k * lanes;
            FloatVector e = exp(FloatVector.fromArray(S, a, o).sub(m));
            e.intoArray(a, o);
            acc = e.mul(FloatVector.fromArray(S, ONES_THEN_ZEROS, inScratch ? lanes - tail : 0)).add(acc);
        }
        System.arraycopy(scratch, 0, s, so + whole, tail);
        return sumLanes(acc);
    }

    /** LANES ones, then LANES zeros: a vector read from offset LANES - k counts its first k lanes. */
    private static final float[] ONES_THEN_ZEROS = new float[2 * S.length()];

    static {
        Arrays.fill(ONES_THEN_ZEROS, 0, S.length(), 1f);
    }

    /**
     * out[o + i] += the sum over t in [0, n) of w[wi + t] * x[xi + t * stride + i], for i in [0, dim):
     * one fma a term, in order of t, onto what out holds; from zeros, a whole sum, and a sum taken
     * over consecutive runs of t gives the same bits as one taken at once. The sums are kept in
     * registers, four vectors' worth of i at a time, while t runs: with the sums in memory, each
     * term waited for the last one's store.
     */
    static void weightedSum(float[] out, int o, float[] w, int wi, int n, float[] x, int xi, int stride, int dim) {
        if (ColdStart.on()) {
            ScalarMath.weightedSum(out, o, w, wi, n, x, xi, stride, dim);
            return;
        }
        int lanes = S.length(), i = 0;
        for (; i + 4 * lanes <= dim; i += 4 * lanes) {
            FloatVector a0 = FloatVector.fromArray(S, out, o + i), a1 = FloatVector.fromArray(S, out, o + i + lanes);
            FloatVector a2 = FloatVector.fromArray(S, out, o + i + 2 * lanes), a3 = FloatVector.fromArray(S, out, o + i + 3 * lanes);
            for (int t = 0, at = xi + i; t < n; t++, at += stride) {
                FloatVector wt = FloatVector.broadcast(S, w[wi + t]);
                a0 = FloatVector.fromArray(S, x, at).fma(wt, a0);
                a1 = FloatVector.fromArray(S, x, at + lanes).fma(wt, a1);
                a2 = FloatVector.fromArray(S, x, at + 2 * lanes).fma(wt, a2);
                a3 = FloatVector.fromArray(S, x, at + 3 * lanes).fma(wt, a3);
            }
            a0.intoArray(out, o + i);
            a1.intoArray(out, o + i + lanes);
            a2.intoArray(out, o + i + 2 * lanes);
            a3.intoArray(out, o + i + 3 * lanes);
        }
        for (; i + lanes <= dim; i += lanes) {
            FloatVector a = FloatVector.fromArray(S, out, o + i);
            for (int t = 0, at = xi + i; t < n; t++, at += stride) a = FloatVector.fromArray(S, x, at).fma(FloatVector.broadcast(S, w[wi + t]), a);
            a.intoArray(out, o + i);
        }
        for (; i < dim; i++) {
            float a = out[o + i];
            for (int t = 0, at = xi + i; t < n; t++, at += stride) a = Math.fma(x[at], w[wi + t], a);
            out[o + i] = a;
        }
    }

    /**
     * {@link #weightedSum} for two sets of weights over the same rows x (two query heads that share
     * a KV head): out[o1 + i] and out[o2 + i] with weights w[wi1 ..] and w[wi2 ..], each element
     * by the same operations as alone. Each row of x is loaded once for both, which takes a
     * third off the time of two calls: loads, not fmas, bound the single sum.
     */
    static void weightedSum2(float[] out, int o1, int o2, float[] w, int wi1, int wi2, int n, float[] x, int xi, int stride, int dim) {
        if (ColdStart.on()) {
            ScalarMath.weightedSum(out, o1, w, wi1, n, x, xi, stride, dim);
            ScalarMath.weightedSum(out, o2, w, wi2, n, x, xi, stride, dim);
            return;
        }
        int lanes = S.length(), i = 0;
        for (; i + 4 * lanes <= dim; i += 4 * lanes) {
            FloatVector a0 = FloatVector.fromArray(S, out, o1 + i), a1 = FloatVector.fromArray(S, out, o1 + i + lanes);
            FloatVector a2 = FloatVector.fromArray(S, out, o1 + i + 2 * lanes), a3 = FloatVector.fromArray(S, out, o1 + i + 3 * lanes);
            FloatVector b0 = FloatVector.fromArray(S, out, o2 + i), b1 = FloatVector.fromArray(S, out, o2 + i + lanes);
            FloatVector b2 = FloatVector.fromArray(S, out, o2 + i + 2 * lanes), b3 = FloatVector.fromArray(S, out, o2 + i + 3 * lanes);
            for (int t = 0, at = xi + i; t < n; t++, at += stride) {
                FloatVector w1 = FloatVector.broadcast(S, w[wi1 + t]), w2 = FloatVector.broadcast(S, w[wi2 + t]);
                FloatVector x0 = FloatVector.fromArray(S, x, at), x1 = FloatVector.fromArray(S, x, at + lanes);
                FloatVector x2 = FloatVector.fromArray(S, x, at + 2 * lanes), x3 = FloatVector.fromArray(S, x, at + 3 * lanes);
                a0 = x0.fma(w1, a0);
                a1 = x1.fma(w1, a1);
                a2 = x2.fma(w1, a2);
                a3 = x3.fma(w1, a3);
                b0 = x0.fma(w2, b0);
                b1 = x1.fma(w2, b1);
                b2 = x2.fma(w2, b2);
                b3 = x3.fma(w2, b3);
            }
            a0.intoArray(out, o1 + i);
            a1.intoArray(out, o1 + i + lanes);
            a2.intoArray(out, o1 + i + 2 * lanes);
            a3.intoArray(out, o1 + i + 3 * lanes);
            b0.intoArray(out, o2 + i);
            b1.intoArray(out, o2 + i + lanes);
            b2.intoArray(out, o2 + i + 2 * lanes);
            b3.intoArray(out, o2 + i + 3 * lanes);
        }
        if (i < dim) {
            weightedSum(out, o1 + i, w, wi1, n, x, xi + i, stride, dim - i);
            weightedSum(out, o2 + i, w, wi2, n, x, xi + i, stride, dim - i);
        }
    }

    /**
     * dst[d + i] = the half-precision number whose bits are src[s + i], for i in [0, n). Exact; the
     * JIT compiles this loop to vector conversions where the CPU has them (F16C on x86), about a
     * quarter of a nanosecond a number here. (The Vector API of JDK 25 has no such conversion.)
     */
    static void halfToFloat(short[] src, int s, float[] dst, int d, int n) {
        for (int i = 0; i < n; i++) dst[d + i] = Float.float16ToFloat(src[s + i]);
    }

    /** dst[d + i] = src[s + i] * scale for i in [0, n), n a multiple of {@link #LANES}: q8_0 numbers of one block. Exact: an 8-bit integer times an f16 scale fits a float. */
    static void bytesTimes(byte[] src, int s, float scale, float[] dst, int d, int n) {
        for (int i = 0; i < n; i += S.length()) bytes(src, s + i).mul(scale).intoArray(dst, d + i);
    }

    /** dst[d + i] = src[s + i] * scales[k + i] for i in [0, n), n a multiple of {@link #LANES}: q8_0 numbers of blocks side by side. */
    static void bytesTimes(byte[] src, int s, float[] scales, int k, float[] dst, int d, int n) {
        for (int i = 0; i < n; i += S.length()) bytes(src, s + i).mul(FloatVector.fromArray(S, scales, k + i)).intoArray(dst, d + i);
    }

    /**
     * dst[d + i] = (nibble of src[s + i] - 8) * scale for i in [0, n), n a multiple of {@link #LANES},
     * the low nibbles or the high: q4_0 numbers of one block. Exact, as {@link #bytesTimes}.
     */
    static void nibblesTimes(byte[] src, int s, boolean high, float scale, float[] dst, int d, int n) {
        for (int i = 0; i < n; i += S.length()) nibbles(src, s + i, high).mul(scale).intoArray(dst, d + i);
    }

    /** dst[d + i] = (nibble of src[s + i] - 8) * scales[k + i]: q4_0 numbers of blocks side by side. */
    static void nibblesTimes(byte[] src, int s, boolean high, float[] scales, int k, float[] dst, int d, int n) {
        for (int i = 0; i < n; i += S.length()) nibbles(src, s + i, high).mul(FloatVector.fromArray(S, scales, k + i)).intoArray(dst, d + i);
    }

    /** A vector's worth of the low or high nibbles of src[s ..], less 8, as floats. */
    private static FloatVector nibbles(byte[] src, int s, boolean high) {
        IntVector v = (IntVector) ByteVector.fromArray(B, src, s).convertShape(VectorOperators.B2I, I, 0);
        if (high) v = v.lanewise(VectorOperators.ASHR, 4);
        return (FloatVector) v.and(15).sub(8).convertShape(VectorOperators.I2F, S, 0);
    }

    /** A vector's worth of 8-bit integers from src[s] as floats. */
    private static FloatVector bytes(byte[] src, int s) {
        return (FloatVector) ByteVector.fromArray(B, src, s).convertShape(VectorOperators.B2I, I, 0).convertShape(VectorOperators.I2F, S, 0);
    }

    /** Floats of one vector: {@link #swiGlu}'s scratch takes twice this, {@link #softmaxNumerators}'s this. */
    static final int LANES = S.length();

    /** Positions in a tile of keys ({@link #scores}): eight vectors. */
    static final int TILE = 8 * LANES;

    static final float LOG2E = 1.44269504f, LN2_HIGH = 0.693359375f, LN2_LOW = -2.12194440e-4f;
    /** 1.5 * 2^23: added to a float of magnitude below 2^22, rounds it to an integer held in the low mantissa bits. */
    static final float ROUNDER = 12582912f;
    static final int EXPONENT_OFFSET = Float.floatToRawIntBits(ROUNDER) - 127;
    /** e^r = 1 + r + r^2 (P0 + P1 r + ... + P5 r^5) on |r| <= ln 2 / 2 (Cephes' expf). */
    static final float P0 = 5.0000001201e-1f, P1 = 1.6666665459e-1f, P2 = 4.1665795894e-2f, P3 = 8.3334519073e-3f,
            P4 = 1.3981999507e-3f, P5 = 1.9875691500e-4f;
}
