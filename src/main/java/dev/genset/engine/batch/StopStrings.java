package dev.genset.engine.batch;

import java.util.List;

/**
 * Finds stop strings in text as it grows, and tells how much of the text is safe to emit: text
 * that might be the start of a stop string is held back until the next tokens decide.
 */
final class StopStrings {
    private final List<String> stops;
    private final int maxLength;

    StopStrings(List<String> stops) {
        this.stops = stops;
        this.maxLength = stops.stream().mapToInt(String::length).max().orElse(0);
    }

    boolean isEmpty() {
        return stops.isEmpty();
    }

    /** Index of the earliest stop string that ends after {@code emitted} (text before it was checked already), or -1. */
    int find(StringBuilder text, int emitted) {
        int from = Math.max(0, emitted - maxLength);
        int best = -1;
        for (String stop : stops) {
            int i = text.indexOf(stop, from);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /** The stop string that begins at {@code at} of {@code text} (where {@link #find} found one); the longest if several do. */
    String at(StringBuilder text, int at) {
        String found = null;
        for (String stop : stops)
            if (text.length() - at >= stop.length() && CharSequence.compare(text.subSequence(at, at + stop.length()), stop) == 0
                    && (found == null || stop.length() > found.length())) found = stop;
        return found;
    }

    /** Length of text that cannot be part of a stop string completed by later text. */
    int safeLength(StringBuilder text) {
        int len = text.length(), hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, len); k > hold; k--) {
                if (CharSequence.compare(text.subSequence(len - k, len), stop.subSequence(0, k)) == 0) {
                    hold = k;
                    break;
                }
            }
        }
        return len - hold;
    }
}
