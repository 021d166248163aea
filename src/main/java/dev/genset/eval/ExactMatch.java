package dev.genset.eval;

import dev.genset.eval.task.TaskSpec;

import java.util.Locale;

/** exact_match as Hugging Face evaluate computes it (lm-evaluation-harness's metric). */
public final class ExactMatch {
    private ExactMatch() {}

    public static boolean matches(String prediction, String reference, TaskSpec.MatchOptions o) {
        return normalize(prediction, o).equals(normalize(reference, o));
    }

    static String normalize(String s, TaskSpec.MatchOptions o) {
        for (String r : o.regexesToIgnore()) s = s.replaceAll(r, "");
        if (o.ignoreCase()) s = s.toLowerCase(Locale.ROOT);
        if (o.ignorePunctuation()) s = s.replaceAll("\\p{Punct}", "");
        return s;
    }
}
