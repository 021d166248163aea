package dev.genset.engine.model;

import java.lang.foreign.MemorySegment;

/**
 * The keys and values one sequence has computed so far, per layer, for positions [0, capacity).
 * Sized to the context the caller asks for, not the model's training context.
 *
 * <p>Each KV head's keys and values are kept apart from the other heads', so that the attention
 * of its query heads reads one run of memory. Values are kept a position at a time
 * ({@code [kvHead][position][channel]}), the form the attention's weighted sum reads. Keys are kept
 * in tiles of {@link #TILE} positions, and within a tile channel by channel
 * ({@code [kvHead][tile][channel][position in tile]}): channel c of a tile's positions is a run of
 * numbers, so a query's scores for a tile are one fma a channel for each of its vectors, the
 * positions side by side in the lanes ({@link ArrayMath#scores}), with no sum across lanes per
 * score. Arrays are allocated to whole tiles; the positions past the end of a tile's filled part
 * hold stale numbers that the attention computes and ignores.
 *
 * <p>Keys and values are each stored as f32, f16, q8_0 or q4_0 ({@link KvType}, {@link KvStore});
 * attention reads the last three a tile (or a run of values) at a time into f32 scratch and
 * computes as it does on f32.
 */
public final class KvCache {
    /** Positions per tile of keys. */
    static final int TILE = ArrayMath.TILE;

    final KvStore[] keys;      // [layer], each [kvHead][tile][channel][position in tile]
    final KvStore[] values;    // [layer], each [kvHead][position][channel]
    private final KvType keyType, valueType;
    private final int capacity, kvHeads, headDim, tileSize, headSize;  // headSize: numbers of one KV head, keys or values
    private int length;        // positions [0, length) hold valid entries

    /** A cache of f32 keys and values. */
    public KvCache(ModelConfig config, int capacity) {
        this(config, capacity, KvType.F32, KvType.F32);
    }

    public KvCache(ModelConfig config, int capacity, KvType keyType, KvType valueType) {
        if (capacity <= 0) throw new IllegalArgumentException("context size must be positive");
        for (KvType type : new KvType[] {keyType, valueType})
            if (config.headDim() % type.blockSize() != 0)
                throw new IllegalArgumentException("a " + type.label() + " KV cache needs heads of a multiple of " + type.blockSize()
                        + " numbers; this model's have " + config.headDim());
        long padded = tiles(capacity) * (long) TILE;
        if (padded * config.kvDim() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("context size " + capacity + " is too large for one KV cache ("
                    + bytes(config, capacity, keyType, valueType) / (1 << 20) + " MiB)");
        this.capacity = capacity;
        this.kvHeads = config.kvHeads();
        this.headDim = config.headDim();
        this.tileSize = TILE * headDim;
        this.headSize = (int) padded * headDim;
        this.keyType = keyType;
        this.valueType = valueType;
        int layers = config.layers(), size = (int) padded * config.kvDim();
        this.keys = new KvStore[layers];
        this.values = new KvStore[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = new KvStore(keyType, size);
            values[l] = new KvStore(valueType, size);
        }
    }

    /** Bytes a cache of this capacity and these types holds, all layers' keys and values (padding included). */
    public static long bytes(ModelConfig config, int capacity, KvType keyType, KvType valueType) {
        long numbers = (long) tiles(capacity) * TILE * config.kvDim();
        return config.layers() * (keyType.bytes(numbers) + valueType.bytes(numbers));
    }

    private static int tiles(int positions) {
        return (positions + TILE - 1) / TILE;
    }

    public int capacity() {
        return capacity;
    }

    public KvType keyType() {
        return keyType;
    }

    public KvType valueType() {
        return valueType;
    }

    /** Number of positions whose keys and values are filled. */
    public int length() {
        return length;
    }

    /** Forgets positions at and after {@code newLength} (e.g. to reuse a common prompt prefix). */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) throw new IllegalArgumentException("cannot truncate to " + newLength + " of " + length);
        length = newLength;
    }

    /** Stores the key (kvDim floats from k[ko]) and value (from v[vo]) of {@code position} in {@code layer}. */
    void put(int layer, int position, float[] k, int ko, float[] v, int vo) {
        int tile = position / TILE * tileSize, p = position % TILE;
        for (int h = 0; h < kvHeads; h++) {
            keys[layer].putTiled(h * headSize + tile, p, k, ko + h * headDim, headDim);
            values[layer].putRun(h * headSize + position * headDim, v, vo + h * headDim, headDim);
        }
    }

    /** Offset in a layer's keys of the first tile of a KV head; its next tile is {@link #keyTileStride} further. */
    int keyOffset(int kvHead) {
        return kvHead * headSize;
    }

    int keyTileStride() {
        return tileSize;
    }

    /** Offset in a layer's values of a KV head's first position; its next is {@link #headDim} further. */
    int valueOffset(int kvHead) {
        return kvHead * headSize;
    }

    private int layers() {
        return keys.length;
    }

    /**
     * Fills positions [length, end) with another cache's entries there, as if this sequence had
     * computed them: the keys and values of a position depend only on the tokens up to it, and a
     * forward pass gives the same bits in any batch, so the copy is what computing would give. The
     * caller vouches that both sequences hold the same tokens up to {@code end}. (Keys move in
     * whole tiles: the tile's positions before {@code length} get the same bits again.)
     */
    public void copyFrom(KvCache other, int end) {
        if (other == this || layers() != other.layers() || kvHeads != other.kvHeads || headDim != other.headDim)
            throw new IllegalArgumentException("copying between caches of different models");
        if (keyType != other.keyType || valueType != other.valueType)
            throw new IllegalArgumentException("copying between caches of different types");
        if (end > other.length || end > capacity || end < length)
            throw new IllegalArgumentException("cannot copy positions up to " + end + " (this cache holds " + length + ", the other " + other.length + ")");
        int from = length * headDim, count = (end - length) * headDim;
        int keyFrom = length / TILE * tileSize, keyCount = tiles(end) * tileSize - keyFrom;
        for (int l = 0; l < layers(); l++)
            for (int h = 0; h < kvHeads; h++) {
                keys[l].copy(other.keys[l], h * headSize + keyFrom, keyCount);
                values[l].copy(other.values[l], h * headSize + from, count);
            }
        length = end;
    }

    /** Bytes {@link #save} writes for positions [0, end): the keys' last tile is kept whole. */
    public long savedBytes(int end) {
        return savedBytes(0, end);
    }

    /** Bytes {@link #save(MemorySegment, int, int)} writes for positions [from, end): the keys' first and last tiles are kept whole. */
    public long savedBytes(int from, int end) {
        return (long) layers() * kvHeads * headBytes(from, end);
    }

    /** Bytes saved of one KV head of one layer: its key tiles, then its values. */
    private long headBytes(int from, int end) {
        return keyBytes(from, end) + valueType.bytes((long) (end - from) * headDim);
    }

    private long keyBytes(int from, int end) {
        return keyType.bytes((long) (tiles(end) - from / TILE) * tileSize);
    }

    /**
     * Writes positions [0, end) to {@code dst} ({@link #savedBytes} bytes), layer by layer and
     * KV head by KV head, each head's key tiles then its values, as stored: a copy kept outside
     * the heap that {@link #restore} reads back.
     */
    public void save(MemorySegment dst, int end) {
        save(dst, 0, end);
    }

    /**
     * {@link #save(MemorySegment, int)} of positions [from, end) only: the keys from the tile that
     * holds position {@code from} (whole tiles, as stored), the values from {@code from}. A copy of
     * what follows a prefix kept elsewhere.
     */
    public void save(MemorySegment dst, int from, int end) {
        if (from < 0 || from > end || end > length) throw new IllegalArgumentException("cannot save positions " + from + " to " + end + " of " + length);
        if (dst.byteSize() < savedBytes(from, end)) throw new IllegalArgumentException("the copy needs " + savedBytes(from, end) + " bytes");
        int keyFrom = from / TILE * tileSize, keyCount = tiles(end) * tileSize - keyFrom, valueFrom = from * headDim, count = (end - from) * headDim;
        long at = 0;
        for (int l = 0; l < layers(); l++)
            for (int h = 0; h < kvHeads; h++, at += headBytes(from, end)) {
                keys[l].save(h * headSize + keyFrom, keyCount, dst, at);
                values[l].save(h * headSize + valueFrom, count, dst, at + keyBytes(from, end));
            }
    }

    /**
     * Fills positions [length, end) from a copy {@link #save} made of {@code saved} positions of a
     * cache of the same model and types, as if this sequence had computed them (see {@link #copyFrom}).
     */
    public void restore(MemorySegment src, int saved, int end) {
        restore(src, 0, saved, end);
    }

    /**
     * Fills positions [length, end) from a copy of positions [from, saved) ({@link #save(MemorySegment,
     * int, int)}); this cache must hold positions up to {@code from} already. Key tiles are copied
     * whole, so positions of the first tile before this cache's length are written again, with the
     * same numbers (a position's keys depend only on the tokens up to it).
     */
    public void restore(MemorySegment src, int from, int saved, int end) {
        if (end > saved || end > capacity || end < length || length < from)
            throw new IllegalArgumentException("cannot restore positions up to " + end + " (this cache holds " + length + ", the copy " + from + " to " + saved + ")");
        if (src.byteSize() != savedBytes(from, saved)) throw new IllegalArgumentException("a copy of another model's cache, or of another type");
        int keyBase = from / TILE * tileSize, savedKeys = tiles(saved) * tileSize - keyBase;
        int keyFrom = length / TILE * tileSize - keyBase, keyCount = tiles(end) * tileSize - length / TILE * tileSize;
        int valueBase = from * headDim, savedValues = (saved - from) * headDim, valueFrom = (length - from) * headDim, count = (end - length) * headDim;
        long at = 0;
        for (int l = 0; l < layers(); l++)
            for (int h = 0; h < kvHeads; h++, at += headBytes(from, saved)) {
                keys[l].restore(src, at, h * headSize + keyBase, savedKeys, keyFrom, keyCount);
                values[l].restore(src, at + keyBytes(from, saved), h * headSize + valueBase, savedValues, valueFrom, count);
            }
        length = end;
    }

    void advanceTo(int newLength) {
        if (newLength > length) length = newLength;
    }
}
