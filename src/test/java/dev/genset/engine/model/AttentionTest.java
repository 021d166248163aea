package dev.genset.engine.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The attention of a group of query heads over one KV head's keys and values as a cache stores
 * them, against attention in double precision over the numbers the store holds (read back one by
 * one): over several tiles of keys and runs of values, for each storage type, so that a tile or
 * run converted from the wrong place, or with another block's scale, fails.
 */
class AttentionTest {

    @ParameterizedTest
    @CsvSource({"f32, f32, 64", "f16, f16, 64", "q8_0, q8_0, 64", "q8_0, f32, 32", "f16, q8_0, 128", "q8_0, q8_0, 96",
            "q4_0, q4_0, 64", "q4_0, f16, 32", "q8_0, q4_0, 96"})
    void matchesDoublePrecisionOverTheStoredNumbers(String keyType, String valueType, int headDim) {
        int heads = 3, n = 2 * KvCache.TILE + 21, tiles = (n + KvCache.TILE - 1) / KvCache.TILE, stride = tiles * KvCache.TILE;
        SplittableRandom random = new SplittableRandom(headDim + 31L * keyType.hashCode() + valueType.hashCode());
        KvStore keys = new KvStore(KvType.parse(keyType), stride * headDim), values = new KvStore(KvType.parse(valueType), stride * headDim);
        float[] key = new float[headDim], value = new float[headDim];
        for (int p = 0; p < n; p++) {
            for (int c = 0; c < headDim; c++) {
                key[c] = (float) (random.nextGaussian() * (1 + c % 7));  // blocks of different ranges
                value[c] = (float) (random.nextGaussian() * (1 + c % 5));
            }
            keys.putTiled(p / KvCache.TILE * KvCache.TILE * headDim, p % KvCache.TILE, key, 0, headDim);
            values.putRun(p * headDim, value, 0, headDim);
        }
        float[] q = new float[heads * headDim], att = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) (random.nextGaussian() * 0.3);
        float[][] scratch = {new float[heads * stride], new float[ArrayMath.LANES], new float[heads],
                new float[headDim * KvCache.TILE], new float[headDim * Transformer.VALUE_POSITIONS], new float[KvCache.TILE]};
        Transformer.attend(q, att, 0, heads, headDim, n, keys, 0, KvCache.TILE * headDim, values, 0, scratch);

        for (int h = 0; h < heads; h++) {
            double[] scores = new double[n];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int p = 0; p < n; p++) {
                for (int c = 0; c < headDim; c++)
                    scores[p] += q[h * headDim + c] * stored(keys, p / KvCache.TILE * KvCache.TILE * headDim + c * KvCache.TILE + p % KvCache.TILE, true, headDim);
                scores[p] /= Math.sqrt(headDim);
                max = Math.max(max, scores[p]);
            }
            for (int p = 0; p < n; p++) sum += scores[p] = Math.exp(scores[p] - max);
            for (int c = 0; c < headDim; c++) {
                double expected = 0;
                for (int p = 0; p < n; p++) expected += scores[p] / sum * stored(values, p * headDim + c, false, headDim);
                assertThat((double) att[h * headDim + c]).as("%s/%s head %d channel %d", keyType, valueType, h, c).isCloseTo(expected, within(1e-5 * (1 + Math.abs(expected))));
            }
        }
    }

    private static double stored(KvStore s, int i, boolean tiled, int headDim) {
        return StoredNumbers.number(s, i, tiled, headDim);
    }
}
