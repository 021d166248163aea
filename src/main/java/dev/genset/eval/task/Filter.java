package dev.genset.eval.task;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Extracts the answer from a generation, as lm-evaluation-harness's regex filter does: the
 * {@code group} of the first match ({@code select: first}) or of the last one
 * ({@code select: last}); a match of an expression with alternatives takes its first non-empty
 * group. No match gives {@code fallback}.
 */
public record Filter(String name, Pattern regex, int group, boolean last, String fallback) {
    public static final String INVALID = "[invalid]";

    /** No extraction: the whole generation, stripped of surrounding whitespace. */
    public static Filter none() {
        return new Filter("none", null, 0, false, INVALID);
    }

    public String apply(String text) {
        if (regex == null) return text.strip();
        Matcher m = regex.matcher(text);
        String found = null;
        boolean any = false;
        while (m.find()) {
            found = groupOf(m);
            any = true;
            if (!last) break;
        }
        if (any && found == null) return fallback;
        return found == null ? fallback : found.strip();
    }

    /** What Python's re.findall gives for one match: the whole match, its only group, or its first non-empty group. */
    private String groupOf(Matcher m) {
        if (group > 0) return m.group(Math.min(group, m.groupCount()));
        if (m.groupCount() == 0) return m.group();
        if (m.groupCount() == 1) return m.group(1) == null ? "" : m.group(1);
        for (int g = 1; g <= m.groupCount(); g++) if (m.group(g) != null && !m.group(g).isEmpty()) return m.group(g);
        return null;
    }

    static Filter parse(Object spec, int index) {
        if (spec instanceof String s) return new Filter("filter" + index, Pattern.compile(s), 0, false, INVALID);
        if (!(spec instanceof Map<?, ?> m)) throw new IllegalArgumentException("a filter is a regex or {name, regex, group, select, fallback}");
        String regex = TaskSpec.string(m.get("regex"), null);
        String name = TaskSpec.string(m.get("name"), "filter" + index);
        if (regex == null) return new Filter(name, null, 0, false, INVALID);
        int group = m.get("group") instanceof Number n ? n.intValue() : 0;
        String select = TaskSpec.string(m.get("select"), "first");
        if (!List.of("first", "last").contains(select)) throw new IllegalArgumentException("filter select is first or last, not " + select);
        return new Filter(name, Pattern.compile(regex), group, select.equals("last"), TaskSpec.string(m.get("fallback"), INVALID));
    }
}
