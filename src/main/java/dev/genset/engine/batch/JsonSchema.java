package dev.genset.engine.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.engine.grammar.Grammar;
import dev.genset.engine.grammar.GrammarException;
import dev.genset.engine.grammar.GrammarMatcher;
import dev.genset.engine.grammar.Regex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The subset of JSON Schema that {@link JsonConstraint} enforces while generating: {@code type}
 * (one or several), {@code enum} and {@code const}, object {@code properties} and {@code required}
 * (an object with properties may have only those keys, each at most once), {@code items},
 * {@code prefixItems} (or an array of {@code items}), {@code minItems} and {@code maxItems}, a
 * string's {@code minLength}, {@code maxLength}, {@code pattern} (a regular expression found
 * anywhere in it unless anchored, matched through {@link Regex}'s grammar as the string is written)
 * and {@code format} ({@code date}, {@code time}, {@code date-time}, {@code uuid}, {@code ipv4},
 * when there is no pattern), a number's {@code minimum}, {@code maximum} and their exclusive forms
 * (checked digit by digit: a prefix is allowed while some number it begins is within them; bounded
 * numbers other than integers are written without an exponent), local {@code $ref}s into
 * {@code $defs} or {@code definitions}, {@code anyOf} and {@code oneOf} at any depth (the value
 * follows one of the alternatives: all are followed side by side until the text rules all but one
 * out), and {@code allOf} of one schema, or of object schemas whose properties are merged.
 * Other keywords are annotations here: the values they describe are kept to the rest.
 */
public final class JsonSchema {
    static final int MAX_CHOICES = 256;
    static final int OBJECT = 1, ARRAY = 2, STRING = 4, NUMBER = 8, INTEGER = 16, BOOLEAN = 32, NULL = 64, ANY = 127;
    private static final ObjectMapper JSON = new ObjectMapper();

    int types = ANY;
    String[] literals;            // enum / const values as JSON text, or null
    String[] propertyNames;       // null: any keys
    String[] quotedNames;         // the names as JSON strings
    JsonSchema[] propertySchemas;
    long required;                // bit i: propertyNames[i] is required
    JsonSchema additional;        // schema of values under free keys (null: anything)
    JsonSchema items;             // null: anything
    int minItems, maxItems = Integer.MAX_VALUE;
    int minLength, maxLength = Integer.MAX_VALUE; // a string's characters (code points; an escape is one)
    Grammar pattern;              // a string's pattern, as a grammar of the whole string (null: none)
    long minimum = Long.MIN_VALUE, maximum = Long.MAX_VALUE; // an integer's bounds (type integer only)
    java.math.BigDecimal low, high; // a number's bounds (type number; null: none)
    boolean lowExclusive, highExclusive;
    JsonSchema[] prefixItems;     // the schemas of an array's first items, in order (null: none)
    private GrammarMatcher patternMatcher;

    /**
     * The matcher of {@link #pattern}, made on first use. Shared by the sequences of the request
     * that compiled this schema, which run on one scheduler's thread.
     */
    GrammarMatcher patternMatcher() {
        if (patternMatcher == null) patternMatcher = new GrammarMatcher(pattern);
        return patternMatcher;
    }
    private JsonSchema ref;       // a $ref resolves to this node
    private List<JsonSchema> alternatives; // anyOf / oneOf: the value follows one of these
    private List<JsonSchema> choices;      // the alternatives, flattened and resolved (made on first use)

    private JsonSchema() {}

    /** Any JSON object. */
    public static JsonSchema anyObject() {
        JsonSchema s = new JsonSchema();
        s.types = OBJECT;
        return s;
    }

    /** Compiles a schema; {@link IllegalArgumentException} names the offending location. */
    public static JsonSchema compile(JsonNode schema) {
        Compiler c = new Compiler(schema);
        JsonSchema root = c.compile(schema, "schema");
        for (int i = 0; i < c.fixups.size(); i++) c.fixups.get(i).run(); // running one may add more
        for (JsonSchema b : c.branching) b.alternatives(); // flattened now, so that a bad one is refused here
        return root;
    }

    /** Exactly this JSON value. */
    public static JsonSchema constant(JsonNode value) {
        JsonSchema s = new JsonSchema();
        s.literals = new String[] {text(value)};
        return s;
    }

    /** An object with these properties (in any order), each required, and no others. */
    public static JsonSchema objectOf(Map<String, JsonSchema> properties) {
        if (properties.size() > 64) throw new IllegalArgumentException("more than 64 properties");
        JsonSchema s = new JsonSchema();
        s.types = OBJECT;
        int k = properties.size();
        s.propertyNames = new String[k];
        s.quotedNames = new String[k];
        s.propertySchemas = new JsonSchema[k];
        int i = 0;
        for (var e : properties.entrySet()) {
            s.propertyNames[i] = e.getKey();
            s.quotedNames[i] = quoted(e.getKey());
            s.propertySchemas[i] = e.getValue();
            s.required |= 1L << i;
            i++;
        }
        return s;
    }

    /** A value that follows one of these schemas (a top-level anyOf). */
    public static JsonSchema anyOf(List<JsonSchema> alternatives) {
        if (alternatives.isEmpty()) throw new IllegalArgumentException("anyOf needs at least one alternative");
        JsonSchema s = new JsonSchema();
        s.alternatives = List.copyOf(alternatives);
        return s;
    }

    /** Whether a value of this schema follows one of several alternatives. */
    boolean hasAlternatives() {
        return alternatives != null;
    }

    /**
     * The schemas a value may follow: the alternatives, flattened (an alternative that has
     * alternatives of its own gives those) and resolved, or just this one.
     */
    List<JsonSchema> alternatives() {
        if (alternatives == null) return List.of(this);
        if (choices == null) {
            List<JsonSchema> flat = new ArrayList<>();
            flatten(this, flat, java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
            if (flat.isEmpty()) throw new IllegalArgumentException("the schema's alternatives refer only to each other, with no value among them");
            choices = List.copyOf(flat);
        }
        return choices;
    }

    private static void flatten(JsonSchema s, List<JsonSchema> into, java.util.Set<JsonSchema> seen) {
        s = s.resolve();
        if (!seen.add(s)) return; // a cycle of alternatives, or one reached twice: nothing new
        if (s.alternatives == null) {
            into.add(s);
            return;
        }
        for (JsonSchema a : s.alternatives) flatten(a, into, seen);
        if (into.size() > MAX_CHOICES) throw new IllegalArgumentException("the schema has more than " + MAX_CHOICES + " alternatives for one value");
    }

    /** The node that stands for this one (following {@code $ref}s). */
    JsonSchema resolve() {
        JsonSchema s = this;
        for (int i = 0; s.ref != null && i < 64; i++) s = s.ref;
        return s;
    }

    /** An integer bound from a number: the least integer at or above a lower bound (above, if exclusive), or the greatest at or below an upper one. */
    private static long bound(JsonNode v, String path, boolean lower, boolean exclusive) {
        if (!v.isNumber()) throw new IllegalArgumentException("'" + path + "' must be a number");
        double d = v.doubleValue();
        if (Math.abs(d) > 1e17) return lower ? Long.MIN_VALUE : Long.MAX_VALUE; // past what the digits are checked to: unbounded
        long b = lower ? (long) Math.ceil(d) : (long) Math.floor(d);
        if (exclusive && b == d) b += lower ? 1 : -1;
        return b;
    }

    /** A JSON Schema pattern (found anywhere in the string, unless anchored) as a regular expression of the whole string. */
    static String searched(String pattern) {
        String anything = "(?:.|\\n)*";
        boolean start = pattern.startsWith("^"), end = pattern.endsWith("$") && !pattern.endsWith("\\$");
        String core = pattern.substring(start ? 1 : 0, pattern.length() - (end ? 1 : 0));
        return (start ? "" : anything) + "(?:" + core + ")" + (end ? "" : anything);
    }

    /** One schema's compilation: its root (which {@code $ref}s point into), the nodes they name, and what is left to do. */
    private static final class Compiler {
        final JsonNode root;
        final Map<String, JsonSchema> refs = new HashMap<>();
        final List<Runnable> fixups = new ArrayList<>();      // $refs, resolved once every node exists
        final List<JsonSchema> branching = new ArrayList<>(); // nodes with alternatives

        Compiler(JsonNode root) {
            this.root = root;
        }

        JsonSchema compile(JsonNode n, String path) {
            JsonSchema s = new JsonSchema();
            if (n == null || n.isBoolean() && n.booleanValue()) return s;
            if (!n.isObject()) throw new IllegalArgumentException("'" + path + "' must be a JSON schema object");
            JsonNode ref = n.get("$ref");
            if (ref != null) {
                String target = reference(ref, path);
                fixups.add(() -> {
                    JsonSchema placeholder = refs.get(target);
                    if (placeholder == null) {
                        placeholder = new JsonSchema();
                        refs.put(target, placeholder); // cycles resolve through the placeholder
                        placeholder.ref = compile(referenced(target, path), target);
                    }
                    s.ref = placeholder;
                });
                return s;
            }
            String branches = n.has("anyOf") ? "anyOf" : n.has("oneOf") ? "oneOf" : null;
            if (branches != null) { // the value follows one of these; keywords beside them are not merged in
                JsonNode any = n.get(branches);
                if (!any.isArray() || any.isEmpty()) throw new IllegalArgumentException("'" + path + "." + branches + "' must be a non-empty array of schemas");
                if (any.size() > 64) throw new IllegalArgumentException("'" + path + "." + branches + "' has more than 64 alternatives");
                s.alternatives = new ArrayList<>();
                for (int i = 0; i < any.size(); i++) s.alternatives.add(compile(any.get(i), path + "." + branches + "[" + i + "]"));
                branching.add(s);
                return s;
            }
            if (n.has("allOf")) return compile(allOf(n, path), path);
            JsonNode type = n.get("type");
            if (type != null) {
                s.types = 0;
                if (type.isTextual()) s.types = typeBit(type.textValue(), path);
                else if (type.isArray()) for (JsonNode t : type) s.types |= typeBit(t.asText(), path);
                else throw new IllegalArgumentException("'" + path + ".type' must be a string or an array of strings");
                if ((s.types & NUMBER) != 0) s.types |= INTEGER;
            }
            if (n.has("const")) s.literals = new String[] {text(n.get("const"))};
            else if (n.has("enum")) {
                JsonNode e = n.get("enum");
                if (!e.isArray() || e.isEmpty()) throw new IllegalArgumentException("'" + path + ".enum' must be a non-empty array");
                s.literals = new String[e.size()];
                for (int i = 0; i < e.size(); i++) s.literals[i] = text(e.get(i));
            }
            JsonNode props = n.get("properties");
            if (props != null) {
                if (!props.isObject()) throw new IllegalArgumentException("'" + path + ".properties' must be an object");
                if (props.size() > 64) throw new IllegalArgumentException("'" + path + ".properties' has more than 64 properties");
                if (type == null) s.types = OBJECT;
                int k = props.size();
                s.propertyNames = new String[k];
                s.quotedNames = new String[k];
                s.propertySchemas = new JsonSchema[k];
                int i = 0;
                for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); i++) {
                    var e = it.next();
                    s.propertyNames[i] = e.getKey();
                    s.quotedNames[i] = quoted(e.getKey());
                    s.propertySchemas[i] = compile(e.getValue(), path + ".properties." + e.getKey());
                }
                JsonNode req = n.get("required");
                if (req != null) {
                    if (!req.isArray()) throw new IllegalArgumentException("'" + path + ".required' must be an array of property names");
                    for (JsonNode r : req) {
                        int at = List.of(s.propertyNames).indexOf(r.asText());
                        if (at < 0) throw new IllegalArgumentException("'" + path + ".required' names '" + r.asText() + "', which is not among the properties");
                        s.required |= 1L << at;
                    }
                }
            } else if (n.get("additionalProperties") != null && n.get("additionalProperties").isObject()) {
                s.additional = compile(n.get("additionalProperties"), path + ".additionalProperties");
            }
            arrayItems(s, n, type == null, path);
            if (n.has("minLength")) s.minLength = Math.max(0, n.get("minLength").asInt());
            if (n.has("maxLength")) s.maxLength = Math.max(0, n.get("maxLength").asInt());
            if (s.minLength > s.maxLength) throw new IllegalArgumentException("'" + path + "' has minLength > maxLength");
            numberBounds(s, n, path);
            String pattern = n.has("pattern") ? null : formatPattern(n.get("format"));
            if (n.has("pattern")) {
                if (!n.get("pattern").isTextual()) throw new IllegalArgumentException("'" + path + ".pattern' must be a string");
                pattern = searched(n.get("pattern").textValue());
            }
            if (pattern != null) {
                try {
                    s.pattern = Regex.grammar(pattern);
                } catch (GrammarException e) {
                    throw new IllegalArgumentException("'" + path + ".pattern': " + e.getMessage());
                }
            }
            if (s.types == 0) throw new IllegalArgumentException("'" + path + ".type' allows no type");
            return s;
        }

        /** {@code items} (a schema, or {@code false} after {@code prefixItems}), {@code prefixItems} (or an array of {@code items}, as drafts before 2020-12 wrote tuples), and the counts. */
        private void arrayItems(JsonSchema s, JsonNode n, boolean untyped, String path) {
            JsonNode prefix = n.get("prefixItems"), items = n.get("items"), rest = null;
            if (items != null && items.isArray()) { // the older tuple form
                prefix = items;
                rest = n.get("additionalItems");
            } else rest = items;
            if (prefix != null) {
                if (!prefix.isArray()) throw new IllegalArgumentException("'" + path + ".prefixItems' must be an array of schemas");
                if (prefix.size() > 64) throw new IllegalArgumentException("'" + path + ".prefixItems' has more than 64 schemas");
                s.prefixItems = new JsonSchema[prefix.size()];
                for (int i = 0; i < prefix.size(); i++) s.prefixItems[i] = compile(prefix.get(i), path + ".prefixItems[" + i + "]");
            }
            if (rest != null && rest.isBoolean() && !rest.booleanValue()) {
                if (s.prefixItems == null) s.maxItems = 0; // no items at all
                else s.maxItems = s.prefixItems.length;
            } else if (rest != null) s.items = compile(rest, path + ".items");
            if ((prefix != null || items != null) && untyped) s.types = ARRAY;
            if (n.has("minItems")) s.minItems = Math.max(0, n.get("minItems").asInt());
            if (n.has("maxItems")) s.maxItems = Math.min(s.maxItems, Math.max(0, n.get("maxItems").asInt()));
            if (s.minItems > s.maxItems) throw new IllegalArgumentException("'" + path + "' has minItems > maxItems");
        }

        /**
         * {@code minimum}, {@code maximum} and their exclusive forms (numbers, or booleans beside
         * {@code minimum} and {@code maximum} as in draft 4): an integer's as whole numbers, other numbers' as they are.
         */
        private static void numberBounds(JsonSchema s, JsonNode n, String path) {
            boolean integers = (s.types & NUMBER) == 0;
            if ((s.types & (NUMBER | INTEGER)) == 0) return;
            JsonNode min = n.get("minimum"), max = n.get("maximum"), exMin = n.get("exclusiveMinimum"), exMax = n.get("exclusiveMaximum");
            boolean minExclusive = exMin != null && exMin.isBoolean() && exMin.booleanValue();
            boolean maxExclusive = exMax != null && exMax.isBoolean() && exMax.booleanValue();
            if (integers) { // digit by digit, a prefix either can still reach the range or not
                if (min != null) s.minimum = bound(min, path + ".minimum", true, minExclusive);
                if (exMin != null && exMin.isNumber()) s.minimum = Math.max(s.minimum, bound(exMin, path + ".exclusiveMinimum", true, true));
                if (max != null) s.maximum = bound(max, path + ".maximum", false, maxExclusive);
                if (exMax != null && exMax.isNumber()) s.maximum = Math.min(s.maximum, bound(exMax, path + ".exclusiveMaximum", false, true));
                if (s.minimum > s.maximum) throw new IllegalArgumentException("'" + path + "' allows no integer (its minimum is above its maximum)");
                return;
            }
            if (min != null) {
                s.low = number(min, path + ".minimum");
                s.lowExclusive = minExclusive;
            }
            if (exMin != null && exMin.isNumber() && (s.low == null || number(exMin, path + ".exclusiveMinimum").compareTo(s.low) >= 0)) {
                s.low = number(exMin, path + ".exclusiveMinimum");
                s.lowExclusive = true;
            }
            if (max != null) {
                s.high = number(max, path + ".maximum");
                s.highExclusive = maxExclusive;
            }
            if (exMax != null && exMax.isNumber() && (s.high == null || number(exMax, path + ".exclusiveMaximum").compareTo(s.high) <= 0)) {
                s.high = number(exMax, path + ".exclusiveMaximum");
                s.highExclusive = true;
            }
            if (s.low != null && s.high != null) {
                int c = s.low.compareTo(s.high);
                if (c > 0 || c == 0 && (s.lowExclusive || s.highExclusive))
                    throw new IllegalArgumentException("'" + path + "' allows no number (its minimum is above its maximum)");
            }
        }

        private static java.math.BigDecimal number(JsonNode v, String path) {
            if (!v.isNumber() || v.isFloatingPointNumber() && !Double.isFinite(v.doubleValue()))
                throw new IllegalArgumentException("'" + path + "' must be a finite number");
            return v.decimalValue();
        }

        /** A {@code $ref}'s target, which must be within this document. */
        private static String reference(JsonNode ref, String path) {
            if (!ref.isTextual() || !ref.textValue().startsWith("#")) throw new IllegalArgumentException("'" + path + ".$ref' must be a local reference like \"#/$defs/Name\"");
            return ref.textValue();
        }

        private JsonNode referenced(String target, String path) {
            JsonNode at = root.at(target.substring(1));
            if (at.isMissingNode()) throw new IllegalArgumentException("'" + path + ".$ref' points to " + target + ", which does not exist");
            return at;
        }

        /**
         * An {@code allOf} as one schema: its parts (and the keywords beside it), with references
         * followed, merged: properties gathered (a later part's schema of a property replaces an
         * earlier one's), required names added up, and any other keyword taken from the first part
         * that has it. Parts with alternatives, or of different types, cannot be merged this way.
         */
        private JsonNode allOf(JsonNode n, String path) {
            com.fasterxml.jackson.databind.node.ObjectNode merged = JSON.createObjectNode();
            com.fasterxml.jackson.databind.node.ObjectNode properties = JSON.createObjectNode();
            java.util.LinkedHashSet<String> required = new java.util.LinkedHashSet<>();
            List<JsonNode> parts = new ArrayList<>();
            gather(n, path, parts, 0);
            for (JsonNode part : parts) {
                for (Iterator<Map.Entry<String, JsonNode>> it = part.fields(); it.hasNext(); ) {
                    var e = it.next();
                    switch (e.getKey()) {
                        case "properties" -> {
                            if (e.getValue().isObject()) properties.setAll((com.fasterxml.jackson.databind.node.ObjectNode) e.getValue());
                        }
                        case "required" -> e.getValue().forEach(r -> required.add(r.asText()));
                        case "anyOf", "oneOf" -> throw new IllegalArgumentException("'" + path + ".allOf' combines " + e.getKey() + " with other schemas, which is not supported");
                        case "type" -> {
                            JsonNode had = merged.get("type");
                            if (had != null && !had.equals(e.getValue()))
                                throw new IllegalArgumentException("'" + path + ".allOf' combines the types " + had + " and " + e.getValue() + ", which is not supported");
                            merged.set("type", e.getValue());
                        }
                        default -> {
                            if (!merged.has(e.getKey())) merged.set(e.getKey(), e.getValue());
                        }
                    }
                }
            }
            if (!properties.isEmpty()) merged.set("properties", properties);
            if (!required.isEmpty()) {
                var names = merged.putArray("required");
                required.forEach(names::add);
            }
            return merged;
        }

        /** The parts of an allOf, nested ones and references followed: each schema object that is not itself an allOf or a reference. */
        private void gather(JsonNode n, String path, List<JsonNode> parts, int depth) {
            if (depth > 32) throw new IllegalArgumentException("'" + path + ".allOf' nests or refers to itself too deeply");
            if (n == null || n.isBoolean() && n.booleanValue()) return;
            if (!n.isObject()) throw new IllegalArgumentException("'" + path + "' must be a JSON schema object");
            if (n.has("$ref")) {
                gather(referenced(reference(n.get("$ref"), path), path), path, parts, depth + 1);
            }
            JsonNode all = n.get("allOf");
            if (all != null) {
                if (!all.isArray() || all.isEmpty()) throw new IllegalArgumentException("'" + path + ".allOf' must be a non-empty array of schemas");
                for (int i = 0; i < all.size(); i++) gather(all.get(i), path + ".allOf[" + i + "]", parts, depth + 1);
            }
            var rest = ((com.fasterxml.jackson.databind.node.ObjectNode) n).deepCopy();
            rest.remove(List.of("allOf", "$ref"));
            if (!rest.isEmpty()) parts.add(rest);
        }
    }

    /** An anchored regular expression for the string formats that are enforced, or null for the others. */
    private static String formatPattern(JsonNode format) {
        if (format == null || !format.isTextual()) return null;
        String date = "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])";
        String time = "([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d{1,9})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)";
        String octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
        return switch (format.textValue()) {
            case "date" -> date;
            case "time" -> time;
            case "date-time" -> date + "T" + time;
            case "uuid" -> "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
            case "ipv4" -> "(" + octet + "\\.){3}" + octet;
            default -> null;
        };
    }

    private static int typeBit(String t, String path) {
        return switch (t) {
            case "object" -> OBJECT;
            case "array" -> ARRAY;
            case "string" -> STRING;
            case "number" -> NUMBER;
            case "integer" -> INTEGER;
            case "boolean" -> BOOLEAN;
            case "null" -> NULL;
            default -> throw new IllegalArgumentException("'" + path + ".type' has an unknown type '" + t + "'");
        };
    }

    private static String text(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** A property name as the JSON string that spells it. */
    static String quoted(String name) {
        return text(JSON.getNodeFactory().textNode(name));
    }
}
