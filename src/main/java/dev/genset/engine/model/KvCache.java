package dev.genset.engine.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The keys and values one sequence has computed so far, per layer, for positions [0, capacity).
 * Sized to the context the caller asks for, not the model's training context.
 */
public final class KvCache {
    final float[][] keys;    // [layer][position * kvDim + channel]
    final float[][] values;  // [layer][position * kvDim + channel]
    private final int capacity;
    private int length;      // positions [0, length) hold valid entries

    public KvCache(ModelConfig config, int capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("context size must be positive");
        long bytes = 2L * config.layers() * capacity * config.kvDim() * Float.BYTES;
        if ((long) capacity * config.kvDim() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("context size " + capacity + " is too large for one KV cache (" + bytes / (1 << 20) + " MiB)");
        this.capacity = capacity;
        this.keys = new float[config.layers()][capacity * config.kvDim()];
        this.values = new float[config.layers()][capacity * config.kvDim()];
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

    /**
     * Fills positions [length, end) with another cache's entries there, as if this sequence had
     * computed them: the keys and values of a position depend only on the tokens up to it, and a
     * forward pass gives the same bits in any batch, so the copy is what computing would give. The
     * caller vouches that both sequences hold the same tokens up to {@code end}.
     */
    public void copyFrom(KvCache other, int end) {
        if (other == this || keys.length != other.keys.length || keys[0].length / capacity != other.keys[0].length / other.capacity)
            throw new IllegalArgumentException("copying between caches of different models");
        if (end > other.length || end > capacity || end < length)
            throw new IllegalArgumentException("cannot copy positions up to " + end + " (this cache holds " + length + ", the other " + other.length + ")");
        int kvDim = keys[0].length / capacity, from = length * kvDim, count = (end - length) * kvDim;
        for (int l = 0; l < keys.length; l++) {
            System.arraycopy(other.keys[l], from, keys[l], from, count);
            System.arraycopy(other.values[l], from, values[l], from, count);
        }
        length = end;
    }

    /** Bytes one position's keys and values take, over every layer. */
    public long bytesPerPosition() {
        return 2L * keys.length * (keys[0].length / capacity) * Float.BYTES;
    }

    /**
     * Writes positions [0, end) to {@code dst} ({@code end * bytesPerPosition()} bytes), layer by
     * layer, each layer's keys then its values: a copy kept outside the heap that {@link #restore}
     * reads back.
     */
    public void save(MemorySegment dst, int end) {
        if (end < 0 || end > length) throw new IllegalArgumentException("cannot save positions up to " + end + " of " + length);
        int kvDim = keys[0].length / capacity, count = end * kvDim;
        if (dst.byteSize() < end * bytesPerPosition()) throw new IllegalArgumentException("the copy needs " + end * bytesPerPosition() + " bytes");
        long at = 0;
        for (int l = 0; l < keys.length; l++) {
            MemorySegment.copy(keys[l], 0, dst, ValueLayout.JAVA_FLOAT, at, count);
            at += (long) count * Float.BYTES;
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
        if (src.byteSize() != saved * bytesPerPosition()) throw new IllegalArgumentException("a copy of another model's cache");
        int kvDim = keys[0].length / capacity, from = length * kvDim, count = (end - length) * kvDim;
        long layerBytes = (long) saved * kvDim * Float.BYTES;
        for (int l = 0; l < keys.length; l++) {
            MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, 2 * l * layerBytes + (long) from * Float.BYTES, keys[l], from, count);
            MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, (2 * l + 1) * layerBytes + (long) from * Float.BYTES, values[l], from, count);
        }
        length = end;
    }

    void advanceTo(int newLength) {
        if (newLength > length) length = newLength;
    }
}
