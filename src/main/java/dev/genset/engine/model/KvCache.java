package dev.genset.engine.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The keys and values one sequence has computed so far, per layer, for positions [0, capacity).
 * Sized to the context the caller asks for, not the model's training context.
 *
 * <p>Values are kept a position at a time ({@code [position][kvHead][channel]}), the form the
 * attention's weighted sum reads. Keys are kept in tiles of {@link #TILE} positions, and within
 * a tile and a KV head channel by channel ({@code [tile][kvHead][channel][position in tile]}):
 * channel c of a tile's positions is a run of floats, so a query's scores for a tile are one
 * fma a channel for each of its vectors, the positions side by side in the lanes
 * ({@link ArrayMath#scores}), with no sum across lanes per score. Arrays are allocated to whole
 * tiles; the positions past the end of a tile's filled part hold stale numbers that the attention
 * computes and ignores.
 */
public final class KvCache {
    /** Positions per tile of keys. */
    static final int TILE = ArrayMath.TILE;

    final float[][] keys;    // [layer][tile][kvHead][channel][position in tile]
    final float[][] values;  // [layer][position][kvHead][channel]
    private final int capacity, kvDim, headDim, tileFloats;
    private int length;      // positions [0, length) hold valid entries

    public KvCache(ModelConfig config, int capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("context size must be positive");
        long padded = tiles(capacity) * (long) TILE;
        long bytes = 2L * config.layers() * padded * config.kvDim() * Float.BYTES;
        if (padded * config.kvDim() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("context size " + capacity + " is too large for one KV cache (" + bytes / (1 << 20) + " MiB)");
        this.capacity = capacity;
        this.kvDim = config.kvDim();
        this.headDim = config.headDim();
        this.tileFloats = TILE * kvDim;
        this.keys = new float[config.layers()][(int) padded * kvDim];
        this.values = new float[config.layers()][(int) padded * kvDim];
    }

    private static int tiles(int positions) {
        return (positions + TILE - 1) / TILE;
    }

    public int capacity() {
        return capacity;
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
        float[] layerKeys = keys[layer];
        int at = position / TILE * tileFloats + position % TILE;
        for (int i = 0; i < kvDim; i++) layerKeys[at + i * TILE] = k[ko + i];  // channel i of KV head i / headDim
        System.arraycopy(v, vo, values[layer], position * kvDim, kvDim);
    }

    /** Offset in a layer's keys of the first tile of a KV head; the next tile of that head is {@link #keyTileStride} further. */
    int keyOffset(int kvHead) {
        return kvHead * headDim * TILE;
    }

    int keyTileStride() {
        return tileFloats;
    }

    /**
     * Fills positions [length, end) with another cache's entries there, as if this sequence had
     * computed them: the keys and values of a position depend only on the tokens up to it, and a
     * forward pass gives the same bits in any batch, so the copy is what computing would give. The
     * caller vouches that both sequences hold the same tokens up to {@code end}. (Keys move in
     * whole tiles: the tile's positions before {@code length} get the same bits again.)
     */
    public void copyFrom(KvCache other, int end) {
        if (other == this || keys.length != other.keys.length || kvDim != other.kvDim || headDim != other.headDim)
            throw new IllegalArgumentException("copying between caches of different models");
        if (end > other.length || end > capacity || end < length)
            throw new IllegalArgumentException("cannot copy positions up to " + end + " (this cache holds " + length + ", the other " + other.length + ")");
        int from = length * kvDim, count = (end - length) * kvDim;
        int keyFrom = length / TILE * tileFloats, keyCount = tiles(end) * tileFloats - keyFrom;
        for (int l = 0; l < keys.length; l++) {
            System.arraycopy(other.keys[l], keyFrom, keys[l], keyFrom, keyCount);
            System.arraycopy(other.values[l], from, values[l], from, count);
        }
        length = end;
    }

    /** Bytes {@link #save} writes for positions [0, end): the keys' last tile is kept whole. */
    public long savedBytes(int end) {
        return (long) keys.length * ((long) tiles(end) * TILE + end) * kvDim * Float.BYTES;
    }

    /**
     * Writes positions [0, end) to {@code dst} ({@link #savedBytes} bytes), layer by layer, each
     * layer's key tiles then its values: a copy kept outside the heap that {@link #restore} reads back.
     */
    public void save(MemorySegment dst, int end) {
        if (end < 0 || end > length) throw new IllegalArgumentException("cannot save positions up to " + end + " of " + length);
        if (dst.byteSize() < savedBytes(end)) throw new IllegalArgumentException("the copy needs " + savedBytes(end) + " bytes");
        int keyCount = tiles(end) * tileFloats, count = end * kvDim;
        long at = 0;
        for (int l = 0; l < keys.length; l++) {
            MemorySegment.copy(keys[l], 0, dst, ValueLayout.JAVA_FLOAT, at, keyCount);
            at += (long) keyCount * Float.BYTES;
            MemorySegment.copy(values[l], 0, dst, ValueLayout.JAVA_FLOAT, at, count);
            at += (long) count * Float.BYTES;
        }
    }

    /**
     * Fills positions [length, end) from a copy {@link #save} made of {@code saved} positions of a
     * cache of the same model, as if this sequence had computed them (see {@link #copyFrom}).
     */
    public void restore(MemorySegment src, int saved, int end) {
        if (end > saved || end > capacity || end < length)
            throw new IllegalArgumentException("cannot restore positions up to " + end + " (this cache holds " + length + ", the copy " + saved + ")");
        if (src.byteSize() != savedBytes(saved)) throw new IllegalArgumentException("a copy of another model's cache");
        int from = length * kvDim, count = (end - length) * kvDim;
        int keyFrom = length / TILE * tileFloats, keyCount = tiles(end) * tileFloats - keyFrom;
        long layerBytes = ((long) tiles(saved) * tileFloats + (long) saved * kvDim) * Float.BYTES;
        long valuesAt = (long) tiles(saved) * tileFloats * Float.BYTES;
        for (int l = 0; l < keys.length; l++) {
            MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, l * layerBytes + (long) keyFrom * Float.BYTES, keys[l], keyFrom, keyCount);
            MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, l * layerBytes + valuesAt + (long) from * Float.BYTES, values[l], from, count);
        }
        length = end;
    }

    void advanceTo(int newLength) {
        if (newLength > length) length = newLength;
    }
}
