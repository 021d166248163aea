package dev.genset.models;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A model's name in the store, {@code name:tag}, the tag defaulting to {@code latest}. Names are
 * lower-case path-like words ({@code stories}, {@code team/llama-3.2-1b}); tags are one word
 * ({@code latest}, {@code q4_k_m}). Both are normalised to lower case.
 */
public record ModelRef(String name, String tag) implements Comparable<ModelRef> {
    public static final String DEFAULT_TAG = "latest";
    private static final Pattern SEGMENT = Pattern.compile("[a-z0-9][a-z0-9._-]{0,127}");
    private static final Pattern TAG = Pattern.compile("[a-z0-9_][a-z0-9._-]{0,127}");

    public ModelRef {
        name = name.toLowerCase(Locale.ROOT);
        tag = tag.toLowerCase(Locale.ROOT);
        String[] segments = name.split("/", -1);
        if (segments.length > 4) throw new IllegalArgumentException("invalid model name '" + name + "': at most 4 path segments");
        for (String s : segments)
            if (!SEGMENT.matcher(s).matches() || s.equals("..") || s.endsWith("."))
                throw new IllegalArgumentException("invalid model name '" + name + "': use letters, digits, '.', '_', '-' and '/' (each part starting with a letter or digit)");
        if (!TAG.matcher(tag).matches()) throw new IllegalArgumentException("invalid tag '" + tag + "' in model name '" + name + ":" + tag + "'");
    }

    /** Parses {@code name} or {@code name:tag}. */
    public static ModelRef parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("a model name is required");
        String t = text.trim();
        int colon = t.lastIndexOf(':');
        if (colon > t.lastIndexOf('/') && colon >= 0) return new ModelRef(t.substring(0, colon), t.substring(colon + 1));
        return new ModelRef(t, DEFAULT_TAG);
    }

    /** True if {@code text} parses as a model name. */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** A valid name made from a file name: "Llama-3.2-1B-Instruct-Q4_K_M.gguf" becomes "llama-3.2-1b-instruct-q4_k_m". */
    public static String nameFromFile(String fileName) {
        String base = fileName.replaceFirst("(?i)\\.(gguf|bin)$", "").toLowerCase(Locale.ROOT);
        base = base.replaceAll("[^a-z0-9._-]+", "-").replaceAll("^[^a-z0-9]+", "").replaceAll("[.]+$", "");
        if (base.length() > 128) base = base.substring(0, 128);
        return base.isEmpty() ? "model" : base;
    }

    @Override
    public String toString() {
        return name + ":" + tag;
    }

    @Override
    public int compareTo(ModelRef o) {
        int c = name.compareTo(o.name);
        return c != 0 ? c : tag.compareTo(o.tag);
    }
}
