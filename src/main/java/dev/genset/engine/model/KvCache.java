package dev.genset.engine.model;

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

    void advanceTo(int newLength) {
        if (newLength > length) length = newLength;
    }
}
