package dev.genset.engine.generate;

import java.util.List;

/**
 * Finds stop strings in text as it grows, and tells how much of the text is safe to emit: text
 * that might be the start of a stop string is held back until the next tokens decide.
 */
final class StopMatcher {
    private final List<String> stops;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Index of the earliest stop string starting at or after {@code from}, or -1. */
    int find(CharSequence text, int from) {
        int best = -1;
        String s = text.toString();
        for (String stop : stops) {
            int i = s.indexOf(stop, Math.max(0, from));
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /** Length of text that cannot be part of a stop string completed by later text. */
    int safeLength(CharSequence text) {
        int len = text.length(), hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, len); k > hold; k--) {
                if (text.subSequence(len - k, len).toString().equals(stop.substring(0, k))) {
                    hold = k;
                    break;
                }
            }
        }
        return len - hold;
    }
}
