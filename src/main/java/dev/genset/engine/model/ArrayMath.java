package dev.genset.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Small vectorised operations on float arrays used by the forward pass (attention, norms). */
final class ArrayMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private ArrayMath() {}

    /** sum of a[ai + i] * b[bi + i] for i in [0, n). */
    static float dot(float[] a, int ai, float[] b, int bi, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                acc = FloatVector.fromArray(S, a, ai + i).fma(FloatVector.fromArray(S, b, bi + i), acc);
            sum = sumLanes(acc);
        }
        for (; i < n; i++) sum += a[ai + i] * b[bi + i];
        return sum;
    }

    /**
     * The lanes added one after another. reduceLanes(ADD) leaves the order open, and the JIT's
     * intrinsic and the interpreter's fallback do differ in the last bit; this order is fixed, so
     * a result never depends on when the code was compiled.
     */
    static float sumLanes(FloatVector v) {
        float sum = 0f;
        for (int i = 0; i < v.length(); i++) sum += v.lane(i);
        return sum;
    }

    /** y[yi + i] = y[yi + i] * scale + alpha * x[xi + i]. */
    static void scaleAdd(float[] y, int yi, float scale, float alpha, float[] x, int xi, int n) {
        int i = 0;
        if (n >= S.length()) {
            FloatVector vs = FloatVector.broadcast(S, scale), va = FloatVector.broadcast(S, alpha);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector vy = FloatVector.fromArray(S, y, yi + i);
                FloatVector.fromArray(S, x, xi + i).fma(va, vy.mul(vs)).intoArray(y, yi + i);
            }
        }
        for (; i < n; i++) y[yi + i] = y[yi + i] * scale + alpha * x[xi + i];
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

    /**
     * gate[i] = silu(gate[i]) * up[i] for i in [0, n): SwiGLU's gating, silu(g) = g / (1 + e^-g)
     * with e^x from {@link #exp}, a vector at a time. A tail shorter than a vector is covered by
     * one more step over the array's last whole vector, its gate inputs copied to {@code scratch}
     * (at least {@link #LANES} floats) before the loop overwrites them: every element goes through
     * the same operations wherever it sits. (A masked tail allocated a mask per call, and a second
     * call site of the step, or a vector held across the loop, was boxed.) With {@link Math#exp}
     * one element at a time this took 5 to 6 ms per layer for a 128-token prompt on one thread,
     * about 4% of the prompt.
     */
    static void swiGlu(float[] gate, float[] up, int n, float[] scratch) {
        int lanes = S.length();
        if (n < lanes) {  // only toy models: under a mask
            VectorMask<Float> m = S.indexInRange(0, n);
            gated(FloatVector.fromArray(S, gate, 0, m), FloatVector.fromArray(S, up, 0, m)).intoArray(gate, 0, m);
            return;
        }
        System.arraycopy(gate, n - lanes, scratch, 0, lanes);
        for (int k = 0, steps = n / lanes + 1; k < steps; k++) {
            boolean tail = k == steps - 1;
            int o = tail ? n - lanes : k * lanes;
            gated(FloatVector.fromArray(S, tail ? scratch : gate, tail ? 0 : o), FloatVector.fromArray(S, up, o)).intoArray(gate, o);
        }
    }

    /** Floats of one vector of {@link #swiGlu}'s shape: the size of its scratch. */
    static final int LANES = S.length();

    private static FloatVector gated(FloatVector g, FloatVector u) {
        return g.div(exp(g.neg()).add(1f)).mul(u);
    }

    private static final float LOG2E = 1.44269504f, LN2_HIGH = 0.693359375f, LN2_LOW = -2.12194440e-4f;
    /** 1.5 * 2^23: added to a float of magnitude below 2^22, rounds it to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    /**
     * e^x lane by lane, within a few units in the last place of {@link Math#exp} (Cephes' expf:
     * x = k ln 2 + r with |r| <= ln 2 / 2, a degree-7 polynomial for e^r, 2^k put into the exponent
     * bits). Only additions, multiplications, fmas and integer bit operations, which give the same
     * bits compiled or not (the Vector API's own EXP is a different function once the JIT compiles
     * it, so a result would depend on compile timing). x is first clamped to [-87.3, 88.5]: beyond
     * that silu is g itself, or a number too small to matter, either way.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(-87.3f).min(88.5f);
        FloatVector t = c.fma(LOG2E, ROUNDER);          // k + 1.5 * 2^23, k = round(x / ln 2)
        FloatVector k = t.sub(ROUNDER);
        FloatVector r = k.fma(broadcast(k, -LN2_HIGH), c);
        r = k.fma(broadcast(k, -LN2_LOW), r);
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
        p = p.fma(r, broadcast(r, 8.3334519073e-3f));
        p = p.fma(r, broadcast(r, 4.1665795894e-2f));
        p = p.fma(r, broadcast(r, 1.6666665459e-1f));
        p = p.fma(r, broadcast(r, 5.0000001201e-1f));
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        // 2^k: k's bits sit at the bottom of t's mantissa; moved up into an exponent with the bias
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(Float.floatToRawIntBits(ROUNDER) - 127).lanewise(VectorOperators.LSHL, 23);
        return er.mul((FloatVector) bits.reinterpretAsFloats());
    }

    private static FloatVector broadcast(FloatVector like, float value) {
        return FloatVector.broadcast(like.species(), value);
    }
}
