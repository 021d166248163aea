package dev.genset.data;

import com.fasterxml.jackson.annotation.JsonIgnore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A dataset's inferred schema: each field's name and the types its values take, in order of first
 * appearance. Types are string, int, float, bool, null, object and array; a field that is missing in
 * some rows is not {@code required}.
 */
public record Schema(List<Field> fields) {

    /**
     * @param types  the value types seen, "int" folded into "float" when both occur
     * @param count  rows in which the field is present
     */
    public record Field(String name, List<String> types, long count, boolean required) {
        /** "int", "string?" (nullable or missing), "int|string". */
        @JsonIgnore
        public String display() {
            List<String> t = new ArrayList<>(types);
            boolean optional = t.remove("null") || !required;
            String base = t.isEmpty() ? "null" : String.join("|", t);
            return optional && !t.isEmpty() ? base + "?" : base;
        }
    }

    public Field field(String name) {
        return fields.stream().filter(f -> f.name().equals(name)).findFirst().orElse(null);
    }

    /** The type name of one value. */
    public static String typeOf(Object v) {
        if (v == null) return "null";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte || v instanceof java.math.BigInteger) return "int";
        if (v instanceof Number) return "float";
        if (v instanceof CharSequence) return "string";
        if (v instanceof Map<?, ?>) return "object";
        if (v instanceof List<?> || v.getClass().isArray()) return "array";
        return "string";
    }

    /** Accumulates rows into a schema. */
    static final class Builder {
        private final Map<String, TreeSet<String>> types = new LinkedHashMap<>();
        private final Map<String, Long> counts = new LinkedHashMap<>();
        private long rows;

        void field(String name) {
            types.computeIfAbsent(name, k -> new TreeSet<>());
            counts.putIfAbsent(name, 0L);
        }

        void add(Map<String, ?> row) {
            rows++;
            for (var e : row.entrySet()) {
                field(e.getKey());
                types.get(e.getKey()).add(typeOf(e.getValue()));
                counts.merge(e.getKey(), 1L, Long::sum);
            }
        }

        void add(String name, String type) {
            field(name);
            types.get(name).add(type);
            counts.merge(name, 1L, Long::sum);
        }

        void row() {
            rows++;
        }

        long rows() {
            return rows;
        }

        Schema build() {
            List<Field> out = new ArrayList<>();
            for (var e : types.entrySet()) {
                TreeSet<String> t = new TreeSet<>(e.getValue());
                if (t.contains("int") && t.contains("float")) t.remove("int");
                long n = counts.get(e.getKey());
                out.add(new Field(e.getKey(), List.copyOf(t), n, n == rows));
            }
            return new Schema(out);
        }
    }
}
