package dev.genset.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MakeModelAndBenchTest {
    // A small shape with the structure of the real ones: a Qwen2 row width (320) that is not a multiple of 256.
    static final ModelShape SMALL_LLAMA = new ModelShape("small-llama", "llama", 256, 2, 4, 2, 64, 512, 32000, 512, 10000f, 1e-5f,
            false, false, false, true, "ggml-vocab-llama-spm.gguf");
    static final ModelShape SMALL_QWEN2 = new ModelShape("small-qwen2", "qwen2", 320, 2, 5, 1, 64, 512, 51200, 512, 1e6f, 1e-6f,
            true, true, false, false, "ggml-vocab-gpt-2.gguf");

    @ParameterizedTest
    @EnumSource(RandomModelWriter.FileType.class)
    void writesLoadableModelsLaidOutLikeLlamaQuantize(RandomModelWriter.FileType type, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(SMALL_LLAMA, type, 7).write(f);
        try (Model m = Model.load(f); Parallel pool = new Parallel(2)) {
            assertThat(m.config().dim()).isEqualTo(256);
            assertThat(m.config().vocabSize()).isEqualTo(32000);
            assertThat(m.tokenizer().encode("Hello world", false, false)).containsExactly(15043, 3186); // the real Llama 2 vocabulary
            GgufFile g = m.gguf();
            GgmlType bulk = switch (type) {
                case F16 -> GgmlType.F16;
                case Q8_0 -> GgmlType.Q8_0;
                case Q4_0 -> GgmlType.Q4_0;
                case Q4_K, Q4_K_M -> GgmlType.Q4_K;
            };
            assertThat(g.tensor("blk.0.ffn_up.weight").type()).isEqualTo(bulk);
            GgmlType expectedOutput = switch (type) {
                case F16 -> GgmlType.F16;
                case Q8_0 -> GgmlType.Q8_0;
                case Q4_0, Q4_K, Q4_K_M -> GgmlType.Q6_K;
            };
            // Q4_K_M: of two layers, the last (the last eighth) takes more bits, as llama-quantize gives it
            GgmlType moreBits = type == RandomModelWriter.FileType.Q4_K_M ? GgmlType.Q6_K : bulk;
            assertThat(g.tensor("blk.0.ffn_down.weight").type()).isEqualTo(bulk);
            assertThat(g.tensor("blk.1.ffn_down.weight").type()).isEqualTo(moreBits);
            assertThat(g.tensor("blk.1.attn_v.weight").type()).isEqualTo(moreBits);
            assertThat(g.tensor("blk.1.attn_k.weight").type()).isEqualTo(bulk);
            assertThat(g.tensor("output.weight").type()).isEqualTo(expectedOutput);
            assertThat(g.tensor("rope_freqs.weight")).isNotNull();
            List<EngineBench.Result> results = new EngineBench(m, pool).run(8, 4, 2);
            assertThat(results).extracting(EngineBench.Result::test).containsExactly("pp8", "tg4");
            assertThat(results).allSatisfy(r -> assertThat(r.avgTs()).isPositive());
        }
    }

    /** The layers llama-quantize gave Q6_K value and down projections in a 22-layer Q4_K_M file (TinyLlama's shape). */
    @Test
    void q4_K_MGivesTheLayersLlamaQuantizeGivesMoreBits() {
        List<Integer> more = new java.util.ArrayList<>();
        for (int l = 0; l < 22; l++) if (RandomModelWriter.FileType.Q4_K_M.moreBits(l, 22) == GgmlType.Q6_K) more.add(l);
        assertThat(more).containsExactly(0, 1, 4, 7, 10, 13, 16, 19, 20, 21);
        assertThat(RandomModelWriter.FileType.Q4_K.moreBits(0, 22)).isEqualTo(GgmlType.Q4_K);
    }

    /** A small mixture of experts laid out as Qwen3-MoE's files are: a router kept f32, each layer's experts in three merged tensors. */
    static final ModelShape SMALL_MOE = new ModelShape("small-qwen3moe", "qwen3moe", 256, 2, 4, 2, 64, 256, 32000, 512, 1e6f, 1e-6f,
            false, false, true, false, "ggml-vocab-llama-spm.gguf", 8, 2);

    @ParameterizedTest
    @EnumSource(value = RandomModelWriter.FileType.class, names = {"Q8_0", "Q4_0", "Q4_K"})
    void mixturesOfExpertsAreWrittenLoadedAndRun(RandomModelWriter.FileType type, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("moe.gguf");
        new RandomModelWriter(SMALL_MOE, type, 3).write(f);
        try (Model m = Model.load(f); Parallel pool = new Parallel(2)) {
            assertThat(m.config().experts()).isEqualTo(8);
            assertThat(m.config().expertsUsed()).isEqualTo(2);
            assertThat(m.config().ffnDim()).isEqualTo(256);
            GgufFile g = m.gguf();
            assertThat(g.tensor("blk.0.ffn_gate_inp.weight").type()).isEqualTo(GgmlType.F32);
            assertThat(g.tensor("blk.1.ffn_down_exps.weight").shape()).containsExactly(256, 256, 8);
            assertThat(g.tensor("blk.0.ffn_gate.weight")).isNull();
            var details = dev.genset.models.ModelDetails.of(g);
            assertThat(details.expertCount()).isEqualTo(8);
            assertThat(details.expertUsedCount()).isEqualTo(2);
            long experts = 2L * 3 * 8 * 256 * 256; // two layers of eight experts' three 256 x 256 matrices
            assertThat(details.activeParameters()).isEqualTo(details.parameters() - experts / 8 * 6);
            List<EngineBench.Result> results = new EngineBench(m, pool).run(8, 4, 2);
            assertThat(results).allSatisfy(r -> assertThat(r.avgTs()).isPositive());
            // a prompt in one batch (each expert over the rows routed to it) gives the logits it gives a token at a time
            int vocab = m.config().vocabSize();
            int[] tokens = m.tokenizer().encode("Once upon a time there was a cat", true, false);
            var batch = m.newTransformer(pool, tokens.length);
            var cache = m.newCache(64, dev.genset.engine.model.KvType.F32, dev.genset.engine.model.KvType.F32);
            float[] all = new float[tokens.length * vocab];
            var caches = new dev.genset.engine.model.KvCache[tokens.length];
            java.util.Arrays.fill(caches, cache);
            boolean[] want = new boolean[tokens.length];
            java.util.Arrays.fill(want, true);
            int[] pos = new int[tokens.length];
            java.util.Arrays.setAll(pos, i -> i);
            batch.forward(tokens.length, tokens, pos, caches, want, all);
            var one = m.newTransformer(pool, 1);
            var cache1 = m.newCache(64, dev.genset.engine.model.KvType.F32, dev.genset.engine.model.KvType.F32);
            float[] l = new float[vocab];
            for (int p = 0; p < tokens.length; p++) {
                one.forward(1, new int[] {tokens[p]}, new int[] {p}, new dev.genset.engine.model.KvCache[] {cache1}, new boolean[] {true}, l);
                for (int v = 0; v < vocab; v += 97) assertThat(l[v]).as("pos %d token %d", p, v).isCloseTo(all[p * vocab + v], org.assertj.core.api.Assertions.within(1e-3f * (1 + Math.abs(l[v]))));
            }
        }
    }

    /** The published sizes: Qwen3-30B-A3B has 30.5 billion parameters, Mixtral 8x7B 46.7 billion; --layers keeps each layer's shape. */
    @Test
    void mixtureShapesHaveThePublishedSizes() {
        assertThat((double) ModelShape.named("qwen3-30b-a3b").parameters()).isCloseTo(30.5e9, org.assertj.core.data.Percentage.withPercentage(1));
        assertThat((double) ModelShape.named("mixtral-8x7b").parameters()).isCloseTo(46.7e9, org.assertj.core.data.Percentage.withPercentage(1));
        ModelShape six = ModelShape.named("qwen3-30b-a3b").withLayers(6);
        assertThat(six.layers()).isEqualTo(6);
        assertThat(six.experts()).isEqualTo(128);
        assertThat(six.name()).isEqualTo("qwen3-30b-a3b-6-layers");
        var r = dev.genset.testing.Cli.run("make-model", "--shape", "qwen3-30b-a3b", "--layers", "49", "--type", "q4_0", "-o", "/nonexistent/x.gguf");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("--layers must be 1 to 48");
    }

    @Test
    void paddedBpeVocabularyAndQ8FallbackForOddRowWidths(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("q.gguf");
        new RandomModelWriter(SMALL_QWEN2, RandomModelWriter.FileType.Q4_K, 7).write(f);
        try (Model m = Model.load(f)) {
            assertThat(m.config().qkvBias()).isTrue();
            assertThat(m.gguf().tensor("output.weight")).isNull(); // tied
            assertThat(m.gguf().tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q8_0); // 320 is not a multiple of 256
            assertThat(m.gguf().tensor("blk.0.ffn_down.weight").type()).isEqualTo(GgmlType.Q4_K); // 512 is
            assertThat(m.tokenizer().vocabSize()).isEqualTo(51200);
            assertThat(m.tokenizer().encode("Hello world", false, false)).containsExactly(15496, 995); // GPT-2's ids
        }
    }

    @Test
    void benchJsonCarriesLlamaBenchFields() throws Exception {
        var r = dev.genset.testing.Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "16", "-n", "8", "-r", "2", "-t", "2", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode arr = new ObjectMapper().readTree(r.out());
        assertThat(arr.size()).isEqualTo(2);
        for (JsonNode o : arr) {
            assertThat(o.has("model_type") && o.has("model_size") && o.has("n_threads") && o.has("avg_ts") && o.has("stddev_ts")).isTrue();
            assertThat(o.get("n_threads").asInt()).isEqualTo(2);
            assertThat(o.get("avg_ts").asDouble()).isPositive();
            assertThat(o.get("samples_ns").size()).isEqualTo(2);
        }
        assertThat(arr.get(0).get("n_prompt").asInt()).isEqualTo(16);
        assertThat(arr.get(1).get("n_gen").asInt()).isEqualTo(8);
        assertThat(arr.get(0).get("model_type").asText()).startsWith("llama ");
    }

    @Test
    void generationThatAllocatesIsFlagged() {
        assertThat(EngineBench.allocationWarning(0, 64)).isEmpty();
        assertThat(EngineBench.allocationWarning(64L * EngineBench.ALLOCATION_LIMIT_PER_TOKEN, 64)).as("at the limit").isEmpty();
        assertThat(EngineBench.allocationWarning(64L * 3 << 20, 64)).hasValueSatisfying(w -> assertThat(w).contains("3.0 MiB a token"));
        assertThat(EngineBench.allocationWarning(1L << 40, 0)).isEmpty();
    }

    @Test
    void compiledGenerationRaisesNoWarning() throws Exception {
        try (Model m = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2)) {
            EngineBench bench = new EngineBench(m, pool);
            bench.run(0, 32, 5);
            assertThat(bench.warnings()).isEmpty();
        }
    }
}
