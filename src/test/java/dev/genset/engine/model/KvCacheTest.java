package dev.genset.engine.model;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tensor.Quantizer;
import dev.genset.testing.SyntheticModel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link KvCache#copyFrom}: a prefix copied from another sequence's cache is what computing it would give. */
class KvCacheTest {

    @Test
    void aCopiedPrefixContinuesAsAComputedOne() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2)) {
            Transformer t = model.newTransformer(pool, 8);
            int vocab = model.config().vocabSize();
            int[] prompt = GreedyConformanceTest.PROMPT;
            KvCache computed = model.newCache(16), other = model.newCache(16), copied = model.newCache(16);
            float[] want = new float[vocab], got = new float[vocab];
            // computed: the whole prompt; other: its first three tokens
            t.forward(prompt.length, prompt, new int[] {0, 1, 2, 3, 4}, filled(prompt.length, computed), last(prompt.length), want);
            t.forward(3, prompt, new int[] {0, 1, 2}, filled(3, other), last(3), new float[vocab]);
            copied.copyFrom(other, 3);
            assertThat(copied.length()).isEqualTo(3);
            t.forward(2, new int[] {prompt[3], prompt[4]}, new int[] {3, 4}, filled(2, copied), last(2), got);
            assertThat(got).containsExactly(want);

            assertThatThrownBy(() -> copied.copyFrom(other, 4)).as("beyond what the other holds").isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> copied.copyFrom(other, 2)).as("behind what this one holds").isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> copied.copyFrom(copied, 5)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** A prefix saved outside the heap and restored continues as a computed one; bad ranges and sizes are refused. */
    @Test
    void aSavedPrefixRestoresAsComputed() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            Transformer t = model.newTransformer(pool, 8);
            int vocab = model.config().vocabSize();
            int[] prompt = GreedyConformanceTest.PROMPT;
            KvCache computed = model.newCache(16), restored = model.newCache(16);
            float[] want = new float[vocab], got = new float[vocab];
            t.forward(prompt.length, prompt, new int[] {0, 1, 2, 3, 4}, filled(prompt.length, computed), last(prompt.length), want);
            var saved = arena.allocate(computed.savedBytes(4));
            computed.save(saved, 4);
            restored.restore(saved, 4, 4);
            t.forward(1, new int[] {prompt[4]}, new int[] {4}, filled(1, restored), last(1), got);
            assertThat(got).containsExactly(want);

            KvCache fresh = model.newCache(16);
            assertThatThrownBy(() -> computed.save(saved, 6)).as("beyond what it holds").isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> computed.save(arena.allocate(8), 4)).as("too small").isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> fresh.restore(saved, 4, 5)).as("beyond the copy").isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> fresh.restore(saved.asSlice(0, computed.savedBytes(3)), 4, 2))
                    .as("a copy of another size").isInstanceOf(IllegalArgumentException.class);
            assertThat(fresh.length()).isZero();
        }
    }

    /** Copies and restores that start and end inside tiles of keys (which move whole) continue as computed ones, for each storage type. */
    @ParameterizedTest
    @CsvSource({"f32, f32", "f16, f16", "f16, f32", "f32, f16", "q8_0, q8_0", "q8_0, f16", "f32, q8_0", "q4_0, q4_0", "q4_0, q8_0"})
    void copiesAcrossTilesOfKeysContinueAsComputed(String keyType, String valueType, @TempDir Path dir) throws Exception {
        KvType kt = KvType.parse(keyType), vt = KvType.parse(valueType);
        // q8_0 and q4_0 need heads of whole blocks of 32: a model with heads of 64 channels
        Path file = kt.blockSize() > 1 || vt.blockSize() > 1 ? new SyntheticModel("llama", 256, 2, 4, 2, 48, 3).write(dir.resolve("q8.gguf")) : TestFiles.storiesModel();
        try (Model model = Model.load(file); Parallel pool = new Parallel(2);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int n = 2 * KvCache.TILE + 10, vocab = model.config().vocabSize();
            Transformer t = model.newTransformer(pool, n);
            int[] tokens = new int[n], pos = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = 1 + (i * 37) % (vocab - 1);
                pos[i] = i;
            }
            KvCache computed = model.newCache(n + 1, kt, vt), other = model.newCache(n + 1, kt, vt), copied = model.newCache(n + 1, kt, vt),
                    restored = model.newCache(n + 1, kt, vt);
            float[] want = new float[vocab], got = new float[vocab];
            t.forward(n, tokens, pos, filled(n, computed), last(n), want);
            int end = KvCache.TILE + 30, start = KvCache.TILE - 5;  // start in tile 0, end in tile 1
            t.forward(end, tokens, pos, filled(end, other), last(end), new float[vocab]);
            t.forward(start, tokens, pos, filled(start, copied), last(start), new float[vocab]);
            copied.copyFrom(other, end);
            int rest = n - end;
            t.forward(rest, java.util.Arrays.copyOfRange(tokens, end, n), java.util.Arrays.copyOfRange(pos, end, n), filled(rest, copied), last(rest), got);
            assertThat(got).containsExactly(want);

            var saved = arena.allocate(other.savedBytes(end));
            other.save(saved, end);
            t.forward(start, tokens, pos, filled(start, restored), last(start), new float[vocab]);
            restored.restore(saved, end, end - 3);
            int more = n - (end - 3);
            t.forward(more, java.util.Arrays.copyOfRange(tokens, end - 3, n), java.util.Arrays.copyOfRange(pos, end - 3, n), filled(more, restored), last(more), got);
            assertThat(got).containsExactly(want);

            // a copy of positions [from, end) only (what follows a prefix kept elsewhere), from inside tile 0, restored
            // after a cache that holds up to a point past from: the first tile's keys move whole and write the same numbers again
            int from = KvCache.TILE - 9;
            var tail = arena.allocate(other.savedBytes(from, end));
            assertThat(other.savedBytes(from, end)).isLessThan(other.savedBytes(end));
            other.save(tail, from, end);
            KvCache joined = model.newCache(n + 1, kt, vt);
            t.forward(start, tokens, pos, filled(start, joined), last(start), new float[vocab]);
            joined.restore(tail, from, end, end);
            t.forward(rest, java.util.Arrays.copyOfRange(tokens, end, n), java.util.Arrays.copyOfRange(pos, end, n), filled(rest, joined), last(rest), got);
            assertThat(got).containsExactly(want);
            KvCache tooShort = model.newCache(n + 1, kt, vt);
            t.forward(from - 1, tokens, pos, filled(from - 1, tooShort), last(from - 1), new float[vocab]);
            assertThatThrownBy(() -> tooShort.restore(tail, from, end, end)).as("positions before the copy are missing").isInstanceOf(IllegalArgumentException.class);
        }
    }

    /**
     * An f16 cache holds exactly what an f32 cache holds, rounded to half precision (compared in the
     * first layer, whose keys and values do not depend on the cache's type), in half the memory;
     * caches of different types do not copy into each other.
     */
    @Test
    void anF16CacheHoldsTheF32NumbersRoundedToHalf() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            Transformer t = model.newTransformer(pool, 8);
            int[] prompt = GreedyConformanceTest.PROMPT;
            int[] pos = {0, 1, 2, 3, 4};
            KvCache full = model.newCache(16), half = model.newCache(16, KvType.F16, KvType.F16);
            float[] logits = new float[model.config().vocabSize()];
            t.forward(prompt.length, prompt, pos, filled(prompt.length, full), last(prompt.length), logits);
            t.forward(prompt.length, prompt, pos, filled(prompt.length, half), last(prompt.length), logits);
            assertThat(half.keys[0].f32).isNull();
            assertThat(half.values[0].f32).isNull();
            int nonZero = 0;
            for (int i = 0; i < full.keys[0].f32.length; i++) {
                assertThat(half.keys[0].f16[i]).as("key number %d", i).isEqualTo(Float.floatToFloat16(full.keys[0].f32[i]));
                assertThat(half.values[0].f16[i]).as("value number %d", i).isEqualTo(Float.floatToFloat16(full.values[0].f32[i]));
                if (full.keys[0].f32[i] != 0) nonZero++;
            }
            assertThat(nonZero).as("the prompt's keys were stored").isEqualTo(prompt.length * model.config().kvDim());
            assertThat(KvCache.bytes(model.config(), 16, KvType.F16, KvType.F16) * 2).isEqualTo(KvCache.bytes(model.config(), 16, KvType.F32, KvType.F32));
            assertThat(half.savedBytes(4) * 2).isEqualTo(full.savedBytes(4));

            KvCache other = model.newCache(16, KvType.F16, KvType.F32);
            assertThatThrownBy(() -> other.copyFrom(half, 4)).hasMessageContaining("different types");
            var saved = arena.allocate(full.savedBytes(4));
            full.save(saved, 4);
            assertThatThrownBy(() -> model.newCache(16, KvType.F16, KvType.F16).restore(saved, 4, 4)).hasMessageContaining("another type");
        }
    }

    /**
     * A q8_0 or q4_0 cache holds, for every 32 channels of a position, exactly the numbers of the
     * block ggml's reference quantizer makes of the f32 cache's numbers (compared in the first
     * layer, over two tiles of keys, both KV heads, both blocks of a head), in 34 or 18 bytes for
     * f16's 64; a model whose heads are not whole blocks is refused.
     */
    @ParameterizedTest
    @CsvSource({"q8_0, 34", "q4_0, 18"})
    void blockCachesHoldGgmlBlocksOfTheF32Numbers(String typeName, int blockBytes, @TempDir Path dir) throws Exception {
        KvType type = KvType.parse(typeName);
        var sm = new SyntheticModel("llama", 256, 2, 4, 2, 48, 9);  // heads of 64 channels
        try (Model model = Model.load(sm.write(dir.resolve("blocks.gguf"))); Parallel pool = new Parallel(2)) {
            int n = KvCache.TILE + 9, capacity = 2 * KvCache.TILE, headDim = model.config().headDim(), kvHeads = model.config().kvHeads();
            assertThat(headDim).isEqualTo(64);
            int[] tokens = new int[n], pos = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = 3 + (i * 31) % (model.config().vocabSize() - 3);
                pos[i] = i;
            }
            Transformer t = model.newTransformer(pool, n);
            KvCache full = model.newCache(capacity), blocks = model.newCache(capacity, type, type);
            float[] logits = new float[model.config().vocabSize()];
            t.forward(n, tokens, pos, filled(n, full), last(n), logits);
            t.forward(n, tokens, pos, filled(n, blocks), last(n), logits);
            int headSize = capacity * headDim, tileSize = KvCache.TILE * headDim;
            float[] keyBlock = new float[32], valueBlock = new float[32];
            for (int p = 0; p < n; p++)
                for (int h = 0; h < kvHeads; h++)
                    for (int b = 0; b < headDim / 32; b++) {
                        int keyAt = h * headSize + p / KvCache.TILE * tileSize + p % KvCache.TILE, valueAt = h * headSize + p * headDim;
                        for (int i = 0; i < 32; i++) {
                            keyBlock[i] = full.keys[0].f32[keyAt + (b * 32 + i) * KvCache.TILE];
                            valueBlock[i] = full.values[0].f32[valueAt + b * 32 + i];
                        }
                        double[] key = ggmlBlock(type, keyBlock), value = ggmlBlock(type, valueBlock);
                        for (int i = 0; i < 32; i++) {
                            assertThat(StoredNumbers.number(blocks.keys[0], keyAt + (b * 32 + i) * KvCache.TILE, true, headDim))
                                    .as("key, position %d head %d channel %d", p, h, b * 32 + i).isEqualTo(key[i]);
                            assertThat(StoredNumbers.number(blocks.values[0], valueAt + b * 32 + i, false, headDim))
                                    .as("value, position %d head %d channel %d", p, h, b * 32 + i).isEqualTo(value[i]);
                        }
                    }
            assertThat(KvCache.bytes(model.config(), capacity, type, type) * 64)
                    .isEqualTo(KvCache.bytes(model.config(), capacity, KvType.F16, KvType.F16) * blockBytes);
        }
        try (Model stories = Model.load(TestFiles.storiesModel())) {
            assertThatThrownBy(() -> stories.newCache(16, KvType.F16, type))
                    .hasMessage("a " + typeName + " KV cache needs heads of a multiple of 32 numbers; this model's have 8");
        }
    }

    /** The 32 numbers of the block ggml's reference quantizer makes of x, decoded. */
    private static double[] ggmlBlock(KvType type, float[] x) {
        byte[] block = Quantizer.quantize(type == KvType.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q4_0, x);
        double d = Float.float16ToFloat((short) ((block[0] & 0xff) | block[1] << 8));
        double[] numbers = new double[32];
        for (int i = 0; i < 32; i++)
            numbers[i] = d * (type == KvType.Q8_0 ? block[2 + i] : i < 16 ? (block[2 + i] & 15) - 8 : (block[2 + i - 16] >> 4 & 15) - 8);
        return numbers;
    }

    @Test
    void typesAreNamedAsLlamaCppNamesThem() {
        assertThat(KvType.parse("f16")).isEqualTo(KvType.F16);
        assertThat(KvType.parse(" F32 ")).isEqualTo(KvType.F32);
        assertThat(KvType.F16.label()).isEqualTo("f16");
        assertThat(KvType.parse("Q8_0")).isEqualTo(KvType.Q8_0);
        assertThat(KvType.Q8_0.label()).isEqualTo("q8_0");
        assertThat(KvType.parse("q4_0")).isEqualTo(KvType.Q4_0);
        assertThatThrownBy(() -> KvType.parse("q5_1")).hasMessageContaining("unsupported KV cache type 'q5_1'").hasMessageContaining("f32, f16, q8_0, q4_0");
    }

    private static KvCache[] filled(int n, KvCache cache) {
        KvCache[] caches = new KvCache[n];
        Arrays.fill(caches, cache);
        return caches;
    }

    private static boolean[] last(int n) {
        boolean[] want = new boolean[n];
        want[n - 1] = true;
        return want;
    }
}
