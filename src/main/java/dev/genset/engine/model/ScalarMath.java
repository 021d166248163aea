package dev.genset.engine.model;

/**
 * {@link ArrayMath}'s vector operations one element at a time, by the same operations in the same
 * order, so that each gives the same bits as its vector twin (tested). The forward pass uses them
 * during the process's {@link dev.genset.engine.tensor.ColdStart} (its first pass, if short): there
 * the vector code would run uncompiled and hold up the first token's compilations.
 */
final class ScalarMath {
    private ScalarMath() {}

    /** {@link ArrayMath#scores}: per position of the tile, one fma a channel in order, from zero, then the scale. */
    static void scores(float[] s, int so, float[] q, int qo, float[] keys, int ko, int dim, float scale) {
        for (int j = 0; j < ArrayMath.TILE; j++) {
            float a = 0f;
            for (int c = 0, at = ko + j; c < dim; c++, at += ArrayMath.TILE) a = Math.fma(keys[at], q[qo + c], a);
            s[so + j] = scale * a;
        }
    }

    /** {@link ArrayMath#swiGlu(float[], float[], int, int, float[])}: silu(gate) * up over [off, off + n). */
    static void swiGlu(float[] gate, float[] up, int off, int n) {
        for (int i = off; i < off + n; i++) {
            float g = gate[i];
            gate[i] = g / (exp(-g) + 1f) * up[i];
        }
    }

    /** {@link ArrayMath#exp}, one number. */
    static float exp(float x) {
        float c = Math.min(Math.max(x, -87.3f), 88.5f);
        float t = Math.fma(c, ArrayMath.LOG2E, ArrayMath.ROUNDER);
        float kf = t - ArrayMath.ROUNDER;
        float r = Math.fma(kf, -ArrayMath.LN2_HIGH, c);
        r = Math.fma(kf, -ArrayMath.LN2_LOW, r);
        float p = Math.fma(r, ArrayMath.P5, ArrayMath.P4);
        p = Math.fma(p, r, ArrayMath.P3);
        p = Math.fma(p, r, ArrayMath.P2);
        p = Math.fma(p, r, ArrayMath.P1);
        p = Math.fma(p, r, ArrayMath.P0);
        float er = Math.fma(p, r * r, r) + 1f;
        return er * Float.intBitsToFloat(Float.floatToRawIntBits(t) - ArrayMath.EXPONENT_OFFSET << 23);
    }

    /**
     * {@link ArrayMath#softmaxNumerators}: element i's numerator is added to running sum i mod
     * {@link ArrayMath#LANES} (a vector lane's), kept in {@code scratch}, and those sums are added in
     * order. The vector form's padding adds zeros to sums that are never -0, which changes nothing.
     */
    static float softmaxNumerators(float[] s, int so, int n, float[] scratch) {
        int lanes = ArrayMath.LANES;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, s[so + i]);
        for (int j = 0; j < lanes; j++) scratch[j] = 0f;
        for (int i = 0, j = 0; i < n; i++, j = j + 1 == lanes ? 0 : j + 1) {
            float e = exp(s[so + i] - max);
            s[so + i] = e;
            scratch[j] = e + scratch[j];
        }
        float sum = 0f;
        for (int j = 0; j < lanes; j++) sum += scratch[j];
        return sum;
    }

    /** {@link ArrayMath#weightedSum}: one fma a term, in order of t, onto what out holds. */
    static void weightedSum(float[] out, int o, float[] w, int wi, int n, float[] x, int xi, int stride, int dim) {
        for (int i = 0; i < dim; i++) {
            float a = out[o + i];
            for (int t = 0, at = xi + i; t < n; t++, at += stride) a = Math.fma(x[at], w[wi + t], a);
            out[o + i] = a;
        }
    }
}
