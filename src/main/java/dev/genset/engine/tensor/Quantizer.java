package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Encodes floats into ggml tensor types, block for block as ggml's reference quantizers do
 * (quantize_row_*_ref: the deterministic ones used to create model files):
 * <ul>
 *   <li>F32, F16 (round to nearest even), BF16 (round to nearest even, NaN kept quiet).
 *   <li>Q8_0: d = absmax / 127, q = round-half-away(x / d).
 *   <li>Q4_0: d = (value of largest magnitude) / -8, q = min(15, trunc(x / d + 8.5)).
 *   <li>Q4_K: per sub-block of 32 a weighted least-squares search for scale and min over 4-bit
 *       levels (ggml's make_qkx2_quants with weights |x| + rms, 20 steps), the 8 scales and mins
 *       then quantized to 6 bits against the largest of each, and the quants recomputed from the
 *       rounded scales.
 *   <li>Q6_K: per group of 16 a signed 6-bit scale search weighted by x^2 (make_qx_quants, rmse
 *       type 1), the 16 scales quantized to int8 against the largest, quants recomputed.
 * </ul>
 * Results equal ggml's built without fused multiply-add contraction; float operations are done
 * in the same order and single precision.
 */
public final class Quantizer {
    private Quantizer() {}

    /** The encoded bytes of {@code values}, whose length must be a whole number of blocks. */
    public static byte[] quantize(GgmlType type, float[] values) {
        checkBlocks(type, values.length);
        byte[] out = new byte[Math.toIntExact(type.byteSize(values.length))];
        quantize(type, values, 0, values.length, out, 0);
        return out;
    }

    /** Encodes src[srcOffset .. + n) (whole blocks) into dst from dstOffset. */
    public static void quantize(GgmlType type, float[] src, int srcOffset, int n, byte[] dst, int dstOffset) {
        checkBlocks(type, n);
        int blocks = n / type.blockSize;
        Scratch scratch = type == GgmlType.Q4_K || type == GgmlType.Q6_K ? new Scratch() : null;
        for (int i = 0; i < blocks; i++) {
            int x = srcOffset + i * type.blockSize, y = dstOffset + i * type.typeSize;
            switch (type) {
                case F32 -> putInt(dst, y, Float.floatToRawIntBits(src[x]));
                case F16 -> putShort(dst, y, Float.floatToFloat16(src[x]));
                case BF16 -> putShort(dst, y, toBf16(src[x]));
                case Q8_0 -> q8_0(src, x, dst, y);
                case Q4_0 -> q4_0(src, x, dst, y);
                case Q4_K -> q4_K(src, x, dst, y, scratch);
                case Q6_K -> q6_K(src, x, dst, y, scratch);
                default -> throw new UnsupportedTensorTypeException(type);
            }
        }
    }

    /** Encodes all of {@code values} to {@code out}, a chunk at a time. */
    public static void quantize(GgmlType type, float[] values, OutputStream out) throws IOException {
        try (Writer w = writer(type, out)) {
            w.write(values, 0, values.length);
        }
    }

    /** A writer that takes floats in any pieces and writes whole encoded blocks to {@code out}. */
    public static Writer writer(GgmlType type, OutputStream out) {
        if (!encodes(type)) throw new UnsupportedTensorTypeException(type);
        return new Writer(type, out);
    }

    /**
     * Streams floats into encoded blocks, for tensors too large to hold as one float array.
     * {@link #close()} checks that a whole number of blocks was written; it does not close the
     * underlying stream.
     */
    public static final class Writer implements AutoCloseable {
        private static final int CHUNK_BLOCKS = 256;
        private final GgmlType type;
        private final OutputStream out;
        private final float[] pending;
        private final byte[] encoded;
        private int filled;
        private long written;

        private Writer(GgmlType type, OutputStream out) {
            this.type = type;
            this.out = out;
            int blocks = type.blockSize == 1 ? CHUNK_BLOCKS * 32 : CHUNK_BLOCKS;
            this.pending = new float[blocks * type.blockSize];
            this.encoded = new byte[blocks * type.typeSize];
        }

        public void write(float[] src, int offset, int n) throws IOException {
            while (n > 0) {
                int take = Math.min(n, pending.length - filled);
                System.arraycopy(src, offset, pending, filled, take);
                filled += take;
                offset += take;
                n -= take;
                if (filled == pending.length) flushBlocks();
            }
        }

        /** Values accepted so far. */
        public long count() {
            return written + filled;
        }

        private void flushBlocks() throws IOException {
            int whole = filled / type.blockSize * type.blockSize;
            quantize(type, pending, 0, whole, encoded, 0);
            out.write(encoded, 0, (int) type.byteSize(whole));
            System.arraycopy(pending, whole, pending, 0, filled - whole);
            written += whole;
            filled -= whole;
        }

        @Override
        public void close() throws IOException {
            if (filled % type.blockSize != 0)
                throw new IllegalStateException(type + " needs whole blocks of " + type.blockSize + " values; " + count() + " written");
            if (filled > 0) flushBlocks();
        }
    }

    /** Whether this class can write {@code type} (the engine reads more types than it writes). */
    public static boolean encodes(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K -> true;
            default -> false;
        };
    }

    private static void checkBlocks(GgmlType type, int n) {
        if (!encodes(type)) throw new UnsupportedTensorTypeException(type);
        if (n % type.blockSize != 0)
            throw new IllegalArgumentException(type + " needs a multiple of " + type.blockSize + " values, got " + n);
    }

    // ---- element types

    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) (bits >>> 16 | 64);  // NaN: force quiet
        return (short) ((bits + 0x7fff + (bits >>> 16 & 1)) >>> 16);
    }

    /** Round to nearest, ties to even, as ggml's nearest_int does for the magnitudes it sees. */
    static int nearestInt(float f) {
        return (int) Math.rint(f);
    }

    /** C's roundf: ties away from zero. */
    static int roundf(float f) {
        return (int) Math.copySign(Math.floor(Math.abs((double) f) + 0.5), f);
    }

    private static float fp16Round(float f) {
        return Float.float16ToFloat(Float.floatToFloat16(f));
    }

    // ---- 32-value blocks

    static void q8_0(float[] x, int xo, byte[] y, int yo) {
        putShort(y, yo, q8_0Block(x, xo, y, yo + 2, 1));
    }

    /**
     * A q8_0 block of the 32 numbers from x[xo]: its integers to y[at + j * step] (a step other
     * than 1 for callers that keep a block's integers apart, as the KV cache's tiles of keys do);
     * returns its scale's f16 bits.
     */
    public static short q8_0Block(float[] x, int xo, byte[] y, int at, int step) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]));
        float d = amax / 127;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < 32; j++) y[at + j * step] = (byte) roundf(x[xo + j] * id);
        return Float.floatToFloat16(d);
    }

    static void q4_0(float[] x, int xo, byte[] y, int yo) {
        putShort(y, yo, q4_0Block(x, xo, y, yo + 2, 1));
    }

    /**
     * A q4_0 block of the 32 numbers from x[xo]: numbers j and j + 16 to the low and high nibble of
     * y[at + j * step]; returns its scale's f16 bits.
     */
    public static short q4_0Block(float[] x, int xo, byte[] y, int at, int step) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < 32; j++) {
            float v = x[xo + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (byte) (int) (x[xo + j] * id + 8.5f));
            int hi = Math.min(15, (byte) (int) (x[xo + 16 + j] * id + 8.5f));
            y[at + j * step] = (byte) (lo & 0xF | hi << 4);
        }
        return Float.floatToFloat16(d);
    }

    // ---- 256-value super-blocks

    private static final float GROUP_MAX_EPS = 1e-15f;

    /** Per-call working arrays of the K quantizers. */
    private static final class Scratch {
        final int[] levels = new int[256];
        final int[] aux = new int[32];
        final float[] weights = new float[32];
        final float[] scales = new float[16];
        final float[] mins = new float[8];
        final int[] packed = new int[12];
    }

    static void q4_K(float[] x, int xo, byte[] y, int yo, Scratch t) {
        int[] levels = t.levels;
        float maxScale = 0f, maxMin = 0f;
        for (int j = 0; j < 8; j++) {
            int o = xo + 32 * j;
            float sumX2 = 0f;
            for (int l = 0; l < 32; l++) sumX2 += x[o + l] * x[o + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) t.weights[l] = avX + Math.abs(x[o + l]);
            t.scales[j] = searchScaleMin(x, o, t.weights, levels, 32 * j, t.mins, j, t.aux);
            maxScale = Math.max(maxScale, t.scales[j]);
            maxMin = Math.max(maxMin, t.mins[j]);
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] p = t.packed;
        java.util.Arrays.fill(p, 0);
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * t.scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * t.mins[j]) & 0xFF);
            if (j < 4) {
                p[j] = ls;
                p[j + 4] = lm;
            } else {
                p[j + 4] = ls & 0xF | (lm & 0xF) << 4;
                p[j - 4] |= (ls >> 4) << 6;
                p[j] |= (lm >> 4) << 6;
            }
        }
        short dBits = Float.floatToFloat16(maxScale / 63f), dminBits = Float.floatToFloat16(maxMin / 63f);
        putShort(y, yo, dBits);
        putShort(y, yo + 2, dminBits);
        for (int j = 0; j < 12; j++) y[yo + 4 + j] = (byte) p[j];
        float d = Float.float16ToFloat(dBits), dmin = Float.float16ToFloat(dminBits);
        for (int j = 0; j < 8; j++) {
            int sc = j < 4 ? p[j] & 63 : (p[j + 4] & 0xF) | (p[j - 4] >> 6) << 4;
            int m = j < 4 ? p[j + 4] & 63 : (p[j + 4] >> 4) | (p[j] >> 6) << 4;
            float ds = d * sc;
            if (ds == 0f) continue;
            float dm = dmin * m;
            for (int l = 0; l < 32; l++)
                levels[32 * j + l] = Math.clamp(nearestInt((x[xo + 32 * j + l] + dm) / ds), 0, 15);
        }
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[yo + 16 + 32 * c + l] = (byte) (levels[64 * c + l] | levels[64 * c + 32 + l] << 4);
    }

    /**
     * Fits value ~ scale * level - min with 4-bit levels over 32 values, minimising the weighted
     * squared error: start from the min/max range, then try 21 slightly stretched level grids
     * and solve the 2x2 least-squares system for each. Writes the levels to L[lo ..] and the
     * (positive) min to mins[mi]; returns the scale.
     */
    private static float searchScaleMin(float[] x, int xo, float[] w, int[] L, int lo, float[] mins, int mi, int[] aux) {
        final int n = 32, nmax = 15, nstep = 20;
        final float rmin = -1f, rdelta = 0.1f;
        float min = x[xo], max = x[xo];
        float sumW = w[0], sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float v = x[xo + i];
            if (v < min) min = v;
            if (v > max) max = v;
            sumW += w[i];
            sumX += w[i] * v;
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) L[lo + i] = 0;
            mins[mi] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0f;
        for (int i = 0; i < n; i++) {
            int l = Math.clamp(nearestInt(iscale * (x[xo + i] - min)), 0, nmax);
            L[lo + i] = l;
            float diff = scale * l + min - x[xo + i];
            bestError += w[i] * (diff * diff);
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0f, sumL2 = 0f, sumXL = 0f;
            for (int i = 0; i < n; i++) {
                int l = Math.clamp(nearestInt(iscale * (x[xo + i] - min)), 0, nmax);
                aux[i] = l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXL += w[i] * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0f;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xo + i];
                    error += w[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(aux, 0, L, lo, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        mins[mi] = -min;
        return scale;
    }

    static void q6_K(float[] x, int xo, byte[] y, int yo, Scratch t) {
        int[] levels = t.levels;
        float maxScale = 0f, maxAbsScale = 0f;
        for (int g = 0; g < 16; g++) {
            float scale = searchSignedScale(x, xo + 16 * g, levels, 16 * g);
            t.scales[g] = scale;
            if (Math.abs(scale) > maxAbsScale) {
                maxAbsScale = Math.abs(scale);
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            java.util.Arrays.fill(y, yo, yo + 210, (byte) 0);
            return;
        }
        float iscale = -128f / maxScale;
        short dBits = Float.floatToFloat16(1 / iscale);
        putShort(y, yo + 208, dBits);
        float d = Float.float16ToFloat(dBits);
        for (int g = 0; g < 16; g++) {
            int sc = (byte) Math.min(127, nearestInt(iscale * t.scales[g]));
            y[yo + 192 + g] = (byte) sc;
            float ds = d * sc;
            if (ds == 0f) continue;
            for (int i = 0; i < 16; i++)
                levels[16 * g + i] = Math.clamp(nearestInt(x[xo + 16 * g + i] / ds), -32, 31) + 32;
        }
        for (int h = 0; h < 2; h++) {
            int ql = yo + 64 * h, qh = yo + 128 + 32 * h, e = 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = levels[e + l], q2 = levels[e + l + 32], q3 = levels[e + l + 64], q4 = levels[e + l + 96];
                y[ql + l] = (byte) (q1 & 0xF | (q3 & 0xF) << 4);
                y[ql + l + 32] = (byte) (q2 & 0xF | (q4 & 0xF) << 4);
                y[qh + l] = (byte) (q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }

    /**
     * Fits 16 values with a signed scale over levels -32..31, weighting each value by x^2: starts
     * from scale = (value of largest magnitude) / -32 and tries 18 nearby grids, keeping the best
     * least-squares scale. Levels (offset by +32) go to L[lo ..]; returns the scale.
     */
    private static float searchSignedScale(float[] x, int xo, int[] L, int lo) {
        final int n = 16, nmax = 32;
        float max = 0f, amax = 0f;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) L[lo + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0f, sumL2 = 0f;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            int l = Math.clamp(nearestInt(iscale * v), -nmax, nmax - 1);
            L[lo + i] = l + nmax;
            float w = v * v;
            sumLX += w * v * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0f ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = sumL2 = 0f;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int l = Math.clamp(nearestInt(iscale * v), -nmax, nmax - 1);
                float w = v * v;
                sumLX += w * v * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) L[lo + i] = Math.clamp(nearestInt(iscale * x[xo + i]), -nmax, nmax - 1) + nmax;
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    private static void putShort(byte[] b, int off, short v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >> 8);
    }

    private static void putInt(byte[] b, int off, int v) {
        putShort(b, off, (short) v);
        putShort(b, off + 2, (short) (v >> 16));
    }
}
