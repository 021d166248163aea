package dev.genset.bench;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufArray;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufValue;
import dev.genset.engine.gguf.GgufValueType;
import dev.genset.engine.gguf.GgufWriter;
import dev.genset.engine.tensor.Quantizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes a GGUF model of a {@link ModelShape} with random weights in a chosen file type, laid out
 * as llama-quantize lays out real models (which tensors get which type), with a real vocabulary.
 */
public final class RandomModelWriter {

    /** A file type: the type of the bulk of the matrices and of the output matrix, as llama-quantize picks them. */
    public enum FileType {
        F16(GgmlType.F16, GgmlType.F16, 1),
        Q8_0(GgmlType.Q8_0, GgmlType.Q8_0, 7),
        Q4_0(GgmlType.Q4_0, GgmlType.Q6_K, 2),
        Q4_K(GgmlType.Q4_K, GgmlType.Q6_K, 14),
        /** The mix most GGUF downloads come in: Q4_K, with the value and down projections of some layers in Q6_K. */
        Q4_K_M(GgmlType.Q4_K, GgmlType.Q6_K, 15);

        final GgmlType matrices, output;
        final int llamaFtype; // general.file_type as llama.cpp numbers it

        FileType(GgmlType matrices, GgmlType output, int llamaFtype) {
            this.matrices = matrices;
            this.output = output;
            this.llamaFtype = llamaFtype;
        }

        /**
         * The type of layer {@code layer}'s value and down projections (of {@code layers}): for Q4_K_M,
         * Q6_K in the first eighth of the layers, the last eighth and every third between, as
         * llama-quantize gives them more bits; otherwise the bulk type. (Its special cases for some
         * architectures, such as eight-expert models' value projections in Q8_0, are not copied.)
         */
        GgmlType moreBits(int layer, int layers) {
            if (this != Q4_K_M) return matrices;
            boolean more = layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
            return more ? GgmlType.Q6_K : matrices;
        }

        public static FileType parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown type '" + s + "' (known: f16, q8_0, q4_0, q4_k, q4_k_m)");
            }
        }
    }

    private final ModelShape shape;
    private final FileType fileType;
    private final long seed;

    public RandomModelWriter(ModelShape shape, FileType fileType, long seed) {
        this.shape = shape;
        this.fileType = fileType;
        this.seed = seed;
    }

    public void write(Path out) throws IOException {
        ModelShape s = shape;
        GgufWriter w = new GgufWriter();
        String p = s.architecture() + ".";
        w.putString("general.architecture", s.architecture())
                .putString("general.name", s.name() + " (random weights)")
                .putUInt32("general.file_type", fileType.llamaFtype)
                .putUInt32(p + "context_length", s.contextLength())
                .putUInt32(p + "embedding_length", s.dim())
                .putUInt32(p + "block_count", s.layers())
                .putUInt32(p + "feed_forward_length", s.experts() > 0 && s.architecture().equals("qwen3moe") ? s.ffnDim() * s.expertsUsed() : s.ffnDim())
                .putUInt32(p + "attention.head_count", s.heads())
                .putUInt32(p + "attention.head_count_kv", s.kvHeads())
                .putFloat32(p + "attention.layer_norm_rms_epsilon", s.rmsEps())
                .putFloat32(p + "rope.freq_base", s.ropeBase())
                .putUInt32(p + "rope.dimension_count", s.headDim());
        if (s.headDim() != s.dim() / s.heads()) {
            w.putUInt32(p + "attention.key_length", s.headDim()).putUInt32(p + "attention.value_length", s.headDim());
        }
        if (s.experts() > 0) {
            w.putUInt32(p + "expert_count", s.experts()).putUInt32(p + "expert_used_count", s.expertsUsed());
            if (s.architecture().equals("qwen3moe")) w.putUInt32(p + "expert_feed_forward_length", s.ffnDim());
        }
        putVocabulary(w);

        SplittableRandom root = new SplittableRandom(seed);
        tensor(w, "token_embd.weight", s.vocabSize(), s.dim(), fileType.matrices, root.split(), 0.02f);
        vector(w, "output_norm.weight", s.dim(), root.split(), true);
        if (!s.tied()) tensor(w, "output.weight", s.vocabSize(), s.dim(), fileType.output, root.split(), 0.02f);
        if (s.llama3Rope()) w.addF32("rope_freqs.weight", new long[] {s.headDim() / 2}, llama3FreqFactors());
        for (int l = 0; l < s.layers(); l++) {
            String b = "blk." + l + ".";
            vector(w, b + "attn_norm.weight", s.dim(), root.split(), true);
            tensor(w, b + "attn_q.weight", s.qDim(), s.dim(), fileType.matrices, root.split(), 0.03f);
            tensor(w, b + "attn_k.weight", s.kvDim(), s.dim(), fileType.matrices, root.split(), 0.03f);
            GgmlType moreBits = fileType.moreBits(l, s.layers());
            tensor(w, b + "attn_v.weight", s.kvDim(), s.dim(), moreBits, root.split(), 0.03f);
            if (s.qkvBias()) {
                vector(w, b + "attn_q.bias", s.qDim(), root.split(), false);
                vector(w, b + "attn_k.bias", s.kvDim(), root.split(), false);
                vector(w, b + "attn_v.bias", s.kvDim(), root.split(), false);
            }
            if (s.qkNorm()) {
                vector(w, b + "attn_q_norm.weight", s.headDim(), root.split(), true);
                vector(w, b + "attn_k_norm.weight", s.headDim(), root.split(), true);
            }
            tensor(w, b + "attn_output.weight", s.dim(), s.qDim(), fileType.matrices, root.split(), 0.03f);
            vector(w, b + "ffn_norm.weight", s.dim(), root.split(), true);
            if (s.experts() > 0) { // the router stays f32, as llama-quantize leaves it; each expert tensor holds all experts' matrices
                tensor(w, b + "ffn_gate_inp.weight", new long[] {s.dim(), s.experts()}, GgmlType.F32, root.split(), 0.1f);
                tensor(w, b + "ffn_gate_exps.weight", new long[] {s.dim(), s.ffnDim(), s.experts()}, fileType.matrices, root.split(), 0.03f);
                tensor(w, b + "ffn_down_exps.weight", new long[] {s.ffnDim(), s.dim(), s.experts()}, moreBits, root.split(), 0.03f);
                tensor(w, b + "ffn_up_exps.weight", new long[] {s.dim(), s.ffnDim(), s.experts()}, fileType.matrices, root.split(), 0.03f);
                continue;
            }
            tensor(w, b + "ffn_gate.weight", s.ffnDim(), s.dim(), fileType.matrices, root.split(), 0.03f);
            tensor(w, b + "ffn_up.weight", s.ffnDim(), s.dim(), fileType.matrices, root.split(), 0.03f);
            tensor(w, b + "ffn_down.weight", s.dim(), s.ffnDim(), moreBits, root.split(), 0.03f);
        }
        w.write(out);
    }

    /** Copies the tokenizer metadata of the bundled vocabulary, padded with unused tokens to the shape's size. */
    private void putVocabulary(GgufWriter w) throws IOException {
        byte[] bytes;
        try (InputStream in = RandomModelWriter.class.getResourceAsStream("/vocab/" + shape.vocabFile())) {
            if (in == null) throw new IOException("bundled vocabulary " + shape.vocabFile() + " is missing from the jar");
            bytes = in.readAllBytes();
        }
        GgufFile vocab = GgufFile.parse(bytes);
        int n = shape.vocabSize();
        for (var e : vocab.metadata().entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("tokenizer.")) continue;
            GgufValue v = e.getValue();
            if (v.value() instanceof GgufArray a && (key.equals("tokenizer.ggml.tokens") || key.equals("tokenizer.ggml.scores") || key.equals("tokenizer.ggml.token_type"))) {
                v = GgufValue.ofArray(padded(key, a, n));
            }
            w.put(key, v);
        }
    }

    private static GgufArray padded(String key, GgufArray a, int n) {
        int have = a.length();
        if (have > n) throw new IllegalStateException(key + " has " + have + " entries, more than the vocabulary size " + n);
        return switch (a.values()) {
            case String[] tokens -> {
                String[] t = Arrays.copyOf(tokens, n);
                for (int i = have; i < n; i++) t[i] = "[PAD" + i + "]";
                yield new GgufArray(a.elementType(), t);
            }
            case float[] scores -> new GgufArray(a.elementType(), Arrays.copyOf(scores, n));
            case int[] types -> {
                int[] t = Arrays.copyOf(types, n);
                Arrays.fill(t, have, n, 5); // llama.cpp's "unused" token type
                yield new GgufArray(a.elementType(), t);
            }
            default -> throw new IllegalStateException(key + " has unexpected element type " + a.elementType());
        };
    }

    /** Llama 3.1/3.2 rope frequency factors (factor 32, low 1, high 4, original context 8192). */
    private float[] llama3FreqFactors() {
        int half = shape.headDim() / 2;
        float[] f = new float[half];
        double factor = 32, low = 1, high = 4, original = 8192;
        for (int i = 0; i < half; i++) {
            double freq = Math.pow(shape.ropeBase(), -2.0 * i / shape.headDim());
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < original / high) f[i] = 1f;
            else if (wavelen > original / low) f[i] = (float) factor;
            else {
                double smooth = (original / wavelen - low) / (high - low);
                f[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return f;
    }

    private static void vector(GgufWriter w, String name, int n, SplittableRandom r, boolean nearOne) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = nearOne ? 1f + (float) (r.nextDouble() - 0.5) * 0.1f : (float) (r.nextDouble() - 0.5) * 0.1f;
        w.addF32(name, new long[] {n}, v);
    }

    /** A random matrix, generated and quantized a block of rows at a time while it is written. */
    private static void tensor(GgufWriter w, String name, int rows, int cols, GgmlType wanted, SplittableRandom r, float amplitude) {
        tensor(w, name, new long[] {cols, rows}, wanted, r, amplitude);
    }

    /**
     * A random tensor of GGUF shape {@code [cols, rows, ...]}: its rows of {@code shape[0]} values one
     * after another. Values are drawn in order from {@code r} (so a seed gives the same file however
     * many cores wrote it), a run of chunks at a time, and the chunks of a run quantized in parallel.
     */
    private static void tensor(GgufWriter w, String name, long[] shape, GgmlType wanted, SplittableRandom r, float amplitude) {
        int cols = (int) shape[0];
        long total = 1;
        for (long d : shape) total *= d;
        long rows = total / cols;
        // Like llama-quantize: a row width that is not a whole number of 256-value super-blocks falls back to Q8_0.
        GgmlType type = cols % wanted.blockSize == 0 ? wanted : GgmlType.Q8_0;
        w.addTensor(name, shape, type, (OutputStream out) -> {
            int chunkRows = Math.max(1, (1 << 20) / cols);
            int run = Math.min(16, 2 * Runtime.getRuntime().availableProcessors());
            float[][] values = new float[run][chunkRows * cols];
            byte[][] bytes = new byte[run][(int) type.byteSize((long) chunkRows * cols)];
            int[] counts = new int[run];
            for (long row = 0; row < rows; ) {
                int k = 0;
                while (k < run && row < rows) {
                    int m = (int) Math.min(chunkRows, rows - row);
                    counts[k] = m * cols;
                    for (int i = 0; i < counts[k]; i++) values[k][i] = (float) ((r.nextDouble() * 2 - 1) * amplitude);
                    row += m;
                    k++;
                }
                java.util.stream.IntStream.range(0, k).parallel().forEach(c -> Quantizer.quantize(type, values[c], 0, counts[c], bytes[c], 0));
                for (int c = 0; c < k; c++) out.write(bytes[c], 0, (int) type.byteSize(counts[c]));
            }
        });
    }
}
