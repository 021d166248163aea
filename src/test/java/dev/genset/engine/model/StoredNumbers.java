package dev.genset.engine.model;

/** Reads a {@link KvStore}'s numbers back one by one, by the layout its documentation gives, for tests to compare with. */
final class StoredNumbers {
    private StoredNumbers() {}

    /** Number i of s, in a layer's keys (tiled) or values, heads of headDim channels. */
    static double number(KvStore s, int i, boolean tiled, int headDim) {
        return switch (s.type) {
            case F32 -> s.f32[i];
            case F16 -> Float.float16ToFloat(s.f16[i]);
            case Q8_0, Q4_0 -> {
                int T = KvCache.TILE, tileSize = T * headDim, scale = i / KvStore.BLOCK, quant;
                if (tiled) {
                    int tile = i / tileSize, within = i % tileSize, channel = within / T, position = within % T, b = channel / KvStore.BLOCK, j = channel % KvStore.BLOCK;
                    scale = tile * (tileSize / KvStore.BLOCK) + b * T + position;
                    quant = s.type == KvType.Q8_0 ? s.quants[i] : nibble(s.quants[tile * tileSize / 2 + (b * 16 + j % 16) * T + position], j >= 16);
                } else {
                    int j = i % KvStore.BLOCK;
                    quant = s.type == KvType.Q8_0 ? s.quants[i] : nibble(s.quants[(i - j) / 2 + j % 16], j >= 16);
                }
                yield quant * (double) Float.float16ToFloat(s.scales[scale]);
            }
        };
    }

    private static int nibble(byte b, boolean high) {
        return (high ? b >> 4 & 15 : b & 15) - 8;
    }
}
