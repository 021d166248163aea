package dev.genset.engine.model;

import jdk.incubator.vector.FloatVector;
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

    /** gate[i] = silu(gate[i]) * up[i] for i in [0, n): SwiGLU's gating. */
    static void swiGlu(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) gate[i] = silu(gate[i]) * up[i];
    }

    static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }
}
