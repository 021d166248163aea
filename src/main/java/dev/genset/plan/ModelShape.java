package dev.genset.plan;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.gguf.GgufValueType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The shape of a model as far as serving memory and speed go.
 *
 * @param params          total parameters (all experts of a mixture of experts: they all sit in memory)
 * @param activeParams    parameters used per token (equal to params for a dense model)
 * @param kvValuesPerLayer cached values per token per layer: 2 · KV heads · head dim for grouped-query
 *                        attention (a K and a V vector per KV head: KV heads, not query heads), or
 *                        the compressed latent plus the decoupled RoPE key for multi-head latent attention
 * @param kvHow           how kvValuesPerLayer was counted
 */
public record ModelShape(String name, double params, double activeParams, int layers, int kvHeads, int headDim,
                         long kvValuesPerLayer, String kvHow, long contextLength, String source) {

    public ModelShape {
        if (!(params > 0)) throw new IllegalArgumentException("--params must be greater than zero");
        if (!(activeParams > 0) || activeParams > params) throw new IllegalArgumentException("active parameters must be in (0, params]");
        if (layers < 1) throw new IllegalArgumentException("--layers must be at least 1");
        if (kvValuesPerLayer < 1) throw new IllegalArgumentException("--kv-heads and --head-dim must be at least 1");
    }

    /** A dense grouped-query-attention model: KV values per layer = 2 · kvHeads · headDim. */
    public static ModelShape gqa(String name, double params, int layers, int kvHeads, int headDim, long context, String source) {
        if (kvHeads < 1) throw new IllegalArgumentException("--kv-heads must be at least 1");
        if (headDim < 1) throw new IllegalArgumentException("--head-dim must be at least 1");
        return new ModelShape(name, params, params, layers, kvHeads, headDim, 2L * kvHeads * headDim,
                "2 * kv_heads * head_dim = 2 * " + kvHeads + " * " + headDim, context, source);
    }

    public boolean moe() { return activeParams < params; }

    // ---- presets ---------------------------------------------------------------------------

    private static final Map<String, ModelShape> PRESETS = new LinkedHashMap<>();

    private static void preset(ModelShape s) { PRESETS.put(s.name(), s); }

    static {
        String l2 = "Touvron et al. 2023, Llama 2, table 1 and the meta-llama/Llama-2-*-hf config.json";
        preset(gqa("llama-2-7b", 6.74e9, 32, 32, 128, 4096, l2 + " (multi-head attention: 32 KV heads)"));
        preset(gqa("llama-2-13b", 13.0e9, 40, 40, 128, 4096, l2 + " (multi-head attention: 40 KV heads)"));
        preset(gqa("llama-2-70b", 68.98e9, 80, 8, 128, 4096, l2 + " (grouped-query attention: 64 query heads, 8 KV heads)"));
        String l3 = "Meta Llama 3 model card and meta-llama/Meta-Llama-3-*B config.json";
        preset(gqa("llama-3-8b", 8.03e9, 32, 8, 128, 8192, l3 + " (32 query heads, 8 KV heads)"));
        preset(gqa("llama-3-70b", 70.55e9, 80, 8, 128, 8192, l3 + " (64 query heads, 8 KV heads)"));
        String l31 = "Grattafiori et al. 2024, The Llama 3 Herd of Models, table 3, and meta-llama/Llama-3.1-*B config.json";
        preset(gqa("llama-3.1-8b", 8.03e9, 32, 8, 128, 131072, l31));
        preset(gqa("llama-3.1-70b", 70.55e9, 80, 8, 128, 131072, l31));
        preset(gqa("llama-3.1-405b", 405.85e9, 126, 8, 128, 131072, l31 + " (128 query heads, 8 KV heads, width 16384)"));
        String q = "Qwen2.5 technical report (Qwen Team 2024), table 1, and Qwen/Qwen2.5-*B config.json";
        preset(gqa("qwen2.5-7b", 7.62e9, 28, 4, 128, 131072, q + " (28 query heads, 4 KV heads; 32K native, 128K with YaRN)"));
        preset(gqa("qwen2.5-72b", 72.71e9, 80, 8, 128, 131072, q + " (64 query heads, 8 KV heads; 32K native, 128K with YaRN)"));
        preset(gqa("mistral-7b", 7.24e9, 32, 8, 128, 32768, "Jiang et al. 2023, Mistral 7B, table 1, and mistralai/Mistral-7B-v0.1 config.json (32 query heads, 8 KV heads)"));
        // DeepSeek-V3: 671B total, 37B activated per token; 61 layers; MLA caches per token and layer
        // the compressed KV latent (kv_lora_rank 512) and the decoupled RoPE key (64): 576 values.
        preset(new ModelShape("deepseek-v3", 671e9, 37e9, 61, 1, 576, 512 + 64,
                "MLA: kv_lora_rank + qk_rope_head_dim = 512 + 64 (the compressed latent c_KV and the shared RoPE key; no separate K and V, no per-head factor)",
                131072, "DeepSeek-AI 2024, DeepSeek-V3 Technical Report, sections 2.1 and 4.2, and deepseek-ai/DeepSeek-V3 config.json"));
    }

    public static ModelShape preset(String name) {
        ModelShape s = PRESETS.get(name.strip().toLowerCase(Locale.ROOT));
        if (s == null) throw new IllegalArgumentException("--preset: unknown model '" + name + "' (known: " + String.join(", ", PRESETS.keySet()) + ")");
        return s;
    }

    public static Map<String, ModelShape> presets() { return Map.copyOf(PRESETS); }

    public static java.util.List<String> presetNames() { return java.util.List.copyOf(PRESETS.keySet()); }

    // ---- GGUF ------------------------------------------------------------------------------

    /**
     * Reads the shape from a GGUF file's metadata ({@code <arch>.block_count}, {@code
     * <arch>.attention.head_count_kv}, {@code <arch>.attention.key_length}, ...); parameters are the
     * sum of the tensors' element counts. For mixture-of-experts files ({@code <arch>.expert_count}),
     * active parameters = total - expert tensors × (1 - used / count); for MLA files ({@code
     * <arch>.attention.kv_lora_rank}) the KV cache holds the latent plus the RoPE key.
     */
    public static ModelShape fromGguf(Path path) throws IOException {
        try (GgufFile g = GgufFile.open(path)) {
            String arch = g.getString("general.architecture", null);
            if (arch == null) throw new IllegalArgumentException("--gguf: " + path.getFileName() + " has no general.architecture");
            int layers = g.getInt(arch + ".block_count", 0);
            if (layers < 1) throw new IllegalArgumentException("--gguf: " + path.getFileName() + " has no " + arch + ".block_count");
            int heads = maxInt(g, arch + ".attention.head_count", 0);
            int kvHeads = maxInt(g, arch + ".attention.head_count_kv", heads);
            int embd = g.getInt(arch + ".embedding_length", 0);
            int headDim = g.getInt(arch + ".attention.key_length", heads > 0 ? embd / heads : 0);
            long ctx = g.getLong(arch + ".context_length", 0);
            long params = 0, expertParams = 0;
            for (GgufTensorInfo t : g.tensors()) {
                params += t.elementCount();
                if (t.name().contains("_exps")) expertParams += t.elementCount();
            }
            if (params <= 0) throw new IllegalArgumentException("--gguf: " + path.getFileName() + " has no tensors");
            int experts = g.getInt(arch + ".expert_count", 0), used = g.getInt(arch + ".expert_used_count", 0);
            double active = params;
            if (experts > 0 && used > 0 && expertParams > 0) active = params - expertParams * (1 - (double) used / experts);
            String name = g.getString("general.name", path.getFileName().toString());
            String src = "GGUF metadata of " + path.getFileName() + " (architecture " + arch + ")";
            int kvRank = g.getInt(arch + ".attention.kv_lora_rank", 0);
            if (kvRank > 0) {
                int rope = g.getInt(arch + ".rope.dimension_count", 0);
                return new ModelShape(name, params, active, layers, 1, kvRank + rope, kvRank + rope,
                        "MLA: kv_lora_rank + rope.dimension_count = " + kvRank + " + " + rope, ctx, src);
            }
            if (kvHeads < 1 || headDim < 1) throw new IllegalArgumentException("--gguf: " + path.getFileName() + " lacks "
                    + arch + ".attention.head_count(_kv) or key_length/embedding_length");
            return new ModelShape(name, params, active, layers, kvHeads, headDim, 2L * kvHeads * headDim,
                    "2 * kv_heads * head_dim = 2 * " + kvHeads + " * " + headDim, ctx, src);
        }
    }

    /** An integer, or the largest element when the key holds a per-layer array. */
    private static int maxInt(GgufFile g, String key, int dflt) {
        var v = g.get(key);
        if (v == null) return dflt;
        if (v.type() == GgufValueType.ARRAY) {
            int[] a = g.getIntArray(key);
            int m = 0;
            for (int x : a) m = Math.max(m, x);
            return m;
        }
        return g.getInt(key, dflt);
    }
}
