package dev.genset.testing;

import dev.genset.engine.gguf.GgufValueType;
import dev.genset.engine.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes small random-weight GGUF models of a given architecture with a byte-level
 * SentencePiece vocabulary (control tokens, then the 256 byte tokens, then a few pieces), and
 * keeps the weights so tests can compute a reference forward pass.
 */
public final class SyntheticModel {
    public final String arch;
    public final int dim, layers, heads, kvHeads, headDim, ffn, vocab;
    public final int experts, expertsUsed; // a mixture of experts (ffn: each expert's width), or 0
    public final float ropeBase = 10000f, eps = 1e-5f;
    public final Map<String, float[]> tensors = new LinkedHashMap<>();
    public final Map<String, long[]> shapes = new LinkedHashMap<>();

    public SyntheticModel(String arch, int dim, int layers, int heads, int kvHeads, int ffn, long seed) {
        this(arch, dim, layers, heads, kvHeads, ffn, seed, 0, 0);
    }

    /** A model whose feed-forward blocks are mixtures of {@code experts} experts ({@code ffn} wide each), {@code expertsUsed} per token. */
    public SyntheticModel(String arch, int dim, int layers, int heads, int kvHeads, int ffn, long seed, int experts, int expertsUsed) {
        this.arch = arch;
        this.experts = experts;
        this.expertsUsed = expertsUsed;
        this.dim = dim;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = dim / heads;
        this.ffn = ffn;
        this.vocab = 3 + 256 + 5;
        Random r = new Random(seed);
        int qDim = heads * headDim, kvDim = kvHeads * headDim;
        add("token_embd.weight", r, 1f, dim, vocab);
        add("output_norm.weight", r, -1f, dim);
        add("output.weight", r, 0.5f, dim, vocab);
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            add(b + "attn_norm.weight", r, -1f, dim);
            add(b + "attn_q.weight", r, 0.5f, dim, qDim);
            add(b + "attn_k.weight", r, 0.5f, dim, kvDim);
            add(b + "attn_v.weight", r, 0.5f, dim, kvDim);
            if (arch.equals("qwen2")) {
                add(b + "attn_q.bias", r, 0.3f, qDim);
                add(b + "attn_k.bias", r, 0.3f, kvDim);
                add(b + "attn_v.bias", r, 0.3f, kvDim);
            }
            if (arch.equals("qwen3") || arch.equals("qwen3moe")) {
                add(b + "attn_q_norm.weight", r, -1f, headDim);
                add(b + "attn_k_norm.weight", r, -1f, headDim);
            }
            add(b + "attn_output.weight", r, 0.5f, qDim, dim);
            add(b + "ffn_norm.weight", r, -1f, dim);
            if (experts > 0) {
                add(b + "ffn_gate_inp.weight", r, 1f, dim, experts);
                add(b + "ffn_gate_exps.weight", r, 0.5f, dim, ffn, experts);
                add(b + "ffn_up_exps.weight", r, 0.5f, dim, ffn, experts);
                add(b + "ffn_down_exps.weight", r, 0.5f, ffn, dim, experts);
                continue;
            }
            add(b + "ffn_gate.weight", r, 0.5f, dim, ffn);
            add(b + "ffn_up.weight", r, 0.5f, dim, ffn);
            add(b + "ffn_down.weight", r, 0.5f, ffn, dim);
        }
    }

    /** scale < 0: values near 1 (norm weights); otherwise uniform in [-scale, scale). */
    private void add(String name, Random r, float scale, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = scale < 0 ? 1f + (r.nextFloat() - 0.5f) * 0.2f : (r.nextFloat() * 2 - 1) * scale;
        tensors.put(name, v);
        shapes.put(name, shape);
    }

    public Path write(Path file) throws IOException {
        return writeWithType(file, null, null);
    }

    /** Writes the model with one tensor declared as another ggml type (zero bytes of the right size). */
    public Path writeWithType(Path file, String tensor, dev.genset.engine.gguf.GgmlType type) throws IOException {
        GgufWriter w = new GgufWriter();
        String p = arch + ".";
        w.putString("general.architecture", arch)
                .putString("general.name", "synthetic-" + arch)
                .putUInt32(p + "context_length", 256)
                .putUInt32(p + "embedding_length", dim)
                .putUInt32(p + "block_count", layers)
                .putUInt32(p + "feed_forward_length", ffn)
                .putUInt32(p + "attention.head_count", heads)
                .putUInt32(p + "attention.head_count_kv", kvHeads)
                .putFloat32(p + "attention.layer_norm_rms_epsilon", eps)
                .putFloat32(p + "rope.freq_base", ropeBase);
        if (experts > 0) {
            w.putUInt32(p + "expert_count", experts).putUInt32(p + "expert_used_count", expertsUsed);
            if (arch.equals("qwen3moe")) w.putUInt32(p + "expert_feed_forward_length", ffn);
        }
        String[] tokens = new String[vocab];
        float[] scores = new float[vocab];
        int[] types = new int[vocab];
        tokens[0] = "<unk>"; types[0] = 2;
        tokens[1] = "<s>"; types[1] = 3;
        tokens[2] = "</s>"; types[2] = 3;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = 6;
        }
        String[] pieces = {"▁a", "▁b", "ab", "▁ab", "▁"};
        for (int i = 0; i < pieces.length; i++) {
            tokens[259 + i] = pieces[i];
            scores[259 + i] = -i;
            types[259 + i] = 1;
        }
        w.putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, tokens)
                .putArray("tokenizer.ggml.scores", GgufValueType.FLOAT32, scores)
                .putArray("tokenizer.ggml.token_type", GgufValueType.INT32, types)
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putUInt32("tokenizer.ggml.unknown_token_id", 0);
        for (var e : tensors.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            if (e.getKey().equals(tensor)) w.addTensor(tensor, shape, type, new byte[(int) type.byteSize(e.getValue().length)]);
            else w.addF32(e.getKey(), shape, e.getValue());
        }
        w.write(file);
        return file;
    }
}
