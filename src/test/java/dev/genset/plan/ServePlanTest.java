package dev.genset.plan;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ServePlanTest {
    static final Catalogue CAT = Catalogue.bundled();

    static ServePlan.Input input(ModelShape m, Precision p, Precision kv, double qps, long in, long out, Long ctx, String gpu) {
        return new ServePlan.Input(m, p, kv, qps, in, out, ctx, CAT.accelerator(gpu), 0.1, 256, 1.0, 8);
    }

    /**
     * Llama-2-70B: 80 layers, 8 KV heads (grouped-query attention, 64 query heads), head dim 128
     * (Touvron et al. 2023, Llama 2, table 1 and section 2.2; config.json). KV cache per token in FP16:
     * 2 (K and V) * 80 * 8 * 128 * 2 bytes = 327,680 B = 320 KiB.
     */
    @Test
    void llama2_70bKvCacheIs320KiBPerTokenInFp16() {
        Working w = ServePlan.plan(input(ModelShape.preset("llama-2-70b"), Precision.FP16, Precision.FP16, 1, 1000, 200, 4096L, "h100-sxm"));
        assertThat(w.number("kv_bytes_per_token")).isEqualTo(320 * 1024);
        assertThat(w.number("kv_bytes_per_sequence")).isEqualTo(320 * 1024 * 4096.0);
        // The same from the explicit shape (KV heads, not the 64 query heads).
        ModelShape custom = ModelShape.gqa("custom", 70e9, 80, 8, 128, 0, "test");
        assertThat(custom.kvValuesPerLayer() * 80 * 2).isEqualTo(320 * 1024);
    }

    @Test
    void weightsAndTensorParallelDegree() {
        // 68.98e9 params * 2 B = 137.96 GB: more than one 80 GB H100 (72 GB usable), so at least 2.
        Working w = ServePlan.plan(input(ModelShape.preset("llama-2-70b"), Precision.BF16, Precision.BF16, 10, 1000, 200, 4096L, "h100-sxm"));
        assertThat(w.number("weight_bytes")).isEqualTo(68.98e9 * 2);
        assertThat(w.number("gpus_per_replica_min")).isEqualTo(2);
        long tp = (long) w.number("gpus_per_replica");
        assertThat(Long.bitCount(tp)).isEqualTo(1);
        assertThat(tp * 72e9).isGreaterThanOrEqualTo(w.number("weight_bytes") + w.number("kv_bytes_per_sequence"));
        assertThat(w.number("gpus")).isEqualTo(w.number("replicas") * tp);
        // An 8B model in BF16 fits one GPU.
        Working small = ServePlan.plan(input(ModelShape.preset("llama-3.1-8b"), Precision.BF16, Precision.BF16, 1, 500, 100, null, "h100-sxm"));
        assertThat(small.number("gpus_per_replica_min")).isEqualTo(1);
        // INT4 weights are half a byte per parameter.
        Working q4 = ServePlan.plan(input(ModelShape.preset("llama-3.1-70b"), Precision.INT4, Precision.FP8, 1, 500, 100, null, "h100-sxm"));
        assertThat(q4.number("weight_bytes")).isEqualTo(70.55e9 / 2);
        assertThat(q4.number("kv_bytes_per_token")).isEqualTo(2 * 80 * 8 * 128);
    }

    @Test
    void decodeCeilingIsBandwidthOverBytesPerToken() {
        // Llama-3.1-8B BF16 on one H100: 3.35e12 B/s / (16.06e9 B of weights + KV of 1,050 tokens).
        Working w = ServePlan.plan(input(ModelShape.preset("llama-3.1-8b"), Precision.BF16, Precision.BF16, 1, 1000, 100, null, "h100-sxm"));
        assertThat(w.number("gpus_per_replica")).isEqualTo(1);
        double kvTok = 2 * 32 * 8 * 128 * 2;
        assertThat(w.number("decode_tokens_per_s_ceiling")).isCloseTo(3.35e12 / (8.03e9 * 2 + kvTok * 1050), within(1e-6));
        // Prefill: 2 * P * I FLOPs at the dense BF16 peak.
        assertThat(w.number("prefill_s")).isCloseTo(2 * 8.03e9 * 1000 / 989.4e12, within(1e-9));
    }

    @Test
    void littlesLawSetsTheReplicas() {
        Working w = ServePlan.plan(input(ModelShape.preset("llama-3.1-8b"), Precision.BF16, Precision.BF16, 200, 2000, 500, null, "l40s"));
        double conc = w.number("concurrency");
        assertThat(conc).isCloseTo(200 * w.number("request_latency_s"), within(1e-9));
        assertThat(w.number("replicas")).isGreaterThanOrEqualTo(Math.ceil(conc / w.number("batch")));
        assertThat(w.number("replicas") * w.number("qps_per_replica")).isGreaterThanOrEqualTo(200);
    }

    /**
     * DeepSeek-V3 (DeepSeek-AI 2024, technical report section 2.1.1; config.json): 61 layers, MLA with
     * kv_lora_rank 512 and qk_rope_head_dim 64. The cache holds the compressed latent and the shared
     * RoPE key, 576 values per token per layer (no factor 2, no per-head count): 61 * 576 * 2 B in BF16.
     * 671B parameters are resident; 37B are active per token.
     */
    @Test
    void deepSeekV3CountsMlaLatentAndMoeParameters() {
        Working w = ServePlan.plan(input(ModelShape.preset("deepseek-v3"), Precision.FP8, Precision.BF16, 5, 2000, 500, null, "h200"));
        assertThat(w.number("kv_bytes_per_token")).isEqualTo(61 * 576 * 2);
        assertThat(w.number("weight_bytes")).isEqualTo(671e9);
        assertThat(w.number("active_params")).isEqualTo(37e9);
        assertThat(w.number("prefill_s")).isCloseTo(2 * 37e9 * 2000 / (w.number("gpus_per_replica") * 1978.9e12), within(1e-9));
        assertThat(w.notes()).anyMatch(n -> n.contains("Mixture of experts"));
    }

    @Test
    void readsTheShapeFromAGgufFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("tiny.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", "tiny")
                .putUInt32("llama.block_count", 2)
                .putUInt32("llama.embedding_length", 64)
                .putUInt32("llama.attention.head_count", 8)
                .putUInt32("llama.attention.head_count_kv", 2)
                .putUInt32("llama.context_length", 256)
                .addF32("token_embd.weight", new long[]{64, 10}, new float[640])
                .addF32("blk.0.attn_q.weight", new long[]{64, 64}, new float[4096])
                .addF32("blk.1.attn_q.weight", new long[]{64, 64}, new float[4096])
                .write(f);
        ModelShape s = ModelShape.fromGguf(f);
        assertThat(s.params()).isEqualTo(640 + 4096 + 4096);
        assertThat(s.layers()).isEqualTo(2);
        assertThat(s.kvHeads()).isEqualTo(2);
        assertThat(s.headDim()).isEqualTo(8); // embedding_length / head_count
        assertThat(s.kvValuesPerLayer()).isEqualTo(2 * 2 * 8);
        assertThat(s.contextLength()).isEqualTo(256);
    }

    @Test
    void ggufMixtureOfExpertsCountsActiveParameters(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("moe.gguf");
        new GgufWriter()
                .putString("general.architecture", "qwen2moe")
                .putUInt32("qwen2moe.block_count", 1)
                .putUInt32("qwen2moe.embedding_length", 16)
                .putUInt32("qwen2moe.attention.head_count", 4)
                .putUInt32("qwen2moe.attention.head_count_kv", 4)
                .putUInt32("qwen2moe.expert_count", 4)
                .putUInt32("qwen2moe.expert_used_count", 1)
                .addF32("blk.0.attn_q.weight", new long[]{16, 16}, new float[256])
                .addTensor("blk.0.ffn_up_exps.weight", new long[]{16, 8, 4}, GgmlType.F32, new byte[16 * 8 * 4 * 4])
                .write(f);
        ModelShape s = ModelShape.fromGguf(f);
        assertThat(s.params()).isEqualTo(256 + 512);
        assertThat(s.activeParams()).isEqualTo(256 + 512 / 4.0);
    }

    @Test
    void rejectsBadInput() {
        ModelShape m = ModelShape.preset("mistral-7b");
        assertThatThrownBy(() -> input(m, Precision.BF16, Precision.BF16, 0, 100, 10, null, "h100-sxm")).hasMessageContaining("--qps");
        assertThatThrownBy(() -> input(m, Precision.BF16, Precision.BF16, 1, 100, 10, 50L, "h100-sxm")).hasMessageContaining("--context");
        assertThatThrownBy(() -> ModelShape.preset("gpt-5")).hasMessageStartingWith("--preset: unknown model 'gpt-5'");
        assertThatThrownBy(() -> Precision.parse("fp4", "--precision")).hasMessageStartingWith("--precision: unknown precision 'fp4'");
        assertThatThrownBy(() -> ModelShape.gqa("x", 7e9, 32, 0, 128, 0, "t")).hasMessageContaining("--kv-heads");
    }
}
