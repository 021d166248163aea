package dev.genset.engine.sampling;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A constraint's masks of allowed tokens (bits by token id), kept for the last few places in the
 * text they were made for. Free text and the body of a string come back to one place token after
 * token, so most steps apply a mask already made instead of trying the vocabulary again.
 *
 * @param <K> what a place is (a value with equals and hashCode)
 */
public final class KeptMasks<K> {
    static final int KEPT = 32;

    private final Map<K, long[]> masks = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<K, long[]> eldest) {
            return size() > KEPT;
        }
    };

    /** The mask of {@code place}, made by {@code make} if it is not kept. */
    public long[] get(K place, Supplier<long[]> make) {
        long[] bits = masks.get(place);
        if (bits == null) {
            bits = make.get();
            masks.put(place, bits);
        }
        return bits;
    }

    /**
     * Sets the logits of the tokens a mask does not allow (and of ids past the {@code tokens} it
     * covers) to negative infinity; returns how many tokens it allows.
     */
    public static int apply(long[] bits, int tokens, float[] logits, int vocabSize) {
        int allowed = 0;
        for (int id = 0; id < vocabSize; id++) {
            if (id < tokens && (bits[id >>> 6] & 1L << id) != 0) allowed++;
            else logits[id] = Float.NEGATIVE_INFINITY;
        }
        return allowed;
    }
}
