package dev.genset.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

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
        int lanes = S.length(), last = Math.max(0, n - lanes), tail = n - last, full = n / lanes;
        System.arraycopy(gate, last, scratch, 0, tail);
        Arrays.fill(scratch, tail, lanes, 0f);
        System.arraycopy(up, last, scratch, lanes, tail);
        Arrays.fill(scratch, lanes + tail, 2 * lanes, 0f);
        for (int k = 0; k <= full; k++) {
            boolean inScratch = k == full;
            float[] gs = inScratch ? scratch : gate, us = inScratch ? scratch : up;
            int go = inScratch ? 0 : k * lanes, uo = inScratch ? lanes : k * lanes;
            FloatVector g = FloatVector.fromArray(S, gs, go);
            // e^-g
            FloatVector c = g.neg().max(-87.3f).min(88.5f);
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
            IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(EXPONENT_OFFSET).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = er.mul((FloatVector) bits.reinterpretAsFloats());
            g.div(e.add(1f)).mul(FloatVector.fromArray(S, us, uo)).intoArray(gs, go);
        }
        System.arraycopy(scratch, 0, gate, last, tail);
    }

    /** Floats of one vector: {@link #swiGlu}'s scratch takes twice this. */
    static final int LANES = S.length();

    private static final float LOG2E = 1.44269504f, LN2_HIGH = 0.693359375f, LN2_LOW = -2.12194440e-4f;
    /** 1.5 * 2^23: added to a float of magnitude below 2^22, rounds it to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int EXPONENT_OFFSET = Float.floatToRawIntBits(ROUNDER) - 127;
    /** e^r = 1 + r + r^2 (P0 + P1 r + ... + P5 r^5) on |r| <= ln 2 / 2 (Cephes' expf). */
    private static final float P0 = 5.0000001201e-1f, P1 = 1.6666665459e-1f, P2 = 4.1665795894e-2f, P3 = 8.3334519073e-3f,
            P4 = 1.3981999507e-3f, P5 = 1.9875691500e-4f;
}
