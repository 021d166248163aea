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
 * {@code minItems} and {@code maxItems}, a string's {@code minLength} and {@code maxLength}, and local {@code $ref}s into {@code $defs} or
 * {@code definitions}; and {@code anyOf} (or {@code oneOf}) at the top level, where the value must
 * follow one of the alternatives (several are followed side by side until the text rules all but one
 * out), and a string's {@code pattern} (a regular expression found anywhere in it unless anchored,
 * matched through {@link Regex}'s grammar as the string is written), and an integer's {@code minimum},
 * {@code maximum} and their exclusive forms (for {@code "type": "integer"}). Other keywords ({@code format},
 * a nested {@code anyOf}, ranges of other numbers) are not enforced: the values they describe are only kept to their type.
 */
public final class JsonSchema {
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
    private List<JsonSchema> alternatives; // top-level anyOf / oneOf: the value follows one of these

    private JsonSchema() {}

    /** Any JSON object. */
    public static JsonSchema anyObject() {
        JsonSchema s = new JsonSchema();
        s.types = OBJECT;
        return s;
    }

    /** Compiles a schema; {@link IllegalArgumentException} names the offending location. */
    public static JsonSchema compile(JsonNode schema) {
        Map<String, JsonSchema> refs = new HashMap<>();
        List<Runnable> fixups = new ArrayList<>();
        JsonSchema root = compile(schema, schema, "schema", refs, fixups);
        JsonNode any = schema == null ? null : schema.has("anyOf") ? schema.get("anyOf") : schema.get("oneOf");
        if (any != null) {
            String key = schema.has("anyOf") ? "anyOf" : "oneOf";
            if (!any.isArray() || any.isEmpty()) throw new IllegalArgumentException("'schema." + key + "' must be a non-empty array of schemas");
            if (any.size() > 64) throw new IllegalArgumentException("'schema." + key + "' has more than 64 alternatives");
            root.alternatives = new ArrayList<>();
            for (int i = 0; i < any.size(); i++) root.alternatives.add(compile(any.get(i), schema, "schema." + key + "[" + i + "]", refs, fixups));
        }
        for (int i = 0; i < fixups.size(); i++) fixups.get(i).run(); // running one may add more
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

    /** The schemas a value may follow: the top-level alternatives, or just this one. */
    List<JsonSchema> alternatives() {
        return alternatives != null ? alternatives : List.of(this);
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

    private static JsonSchema compile(JsonNode n, JsonNode root, String path, Map<String, JsonSchema> refs, List<Runnable> fixups) {
        JsonSchema s = new JsonSchema();
        if (n == null || n.isBoolean() && n.booleanValue()) return s;
        if (!n.isObject()) throw new IllegalArgumentException("'" + path + "' must be a JSON schema object");
        JsonNode ref = n.get("$ref");
        if (ref != null) {
            if (!ref.isTextual() || !ref.textValue().startsWith("#/")) throw new IllegalArgumentException("'" + path + ".$ref' must be a local reference like \"#/$defs/Name\"");
            String target = ref.textValue();
            fixups.add(() -> {
                JsonSchema placeholder = refs.get(target);
                if (placeholder == null) {
                    JsonNode at = root.at(target.substring(1));
                    if (at.isMissingNode()) throw new IllegalArgumentException("'" + path + ".$ref' points to " + target + ", which does not exist");
                    placeholder = new JsonSchema();
                    refs.put(target, placeholder); // cycles resolve through the placeholder
                    placeholder.ref = compile(at, root, target, refs, fixups);
                }
                s.ref = placeholder;
            });
            return s;
        }
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
                s.propertySchemas[i] = compile(e.getValue(), root, path + ".properties." + e.getKey(), refs, fixups);
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
            s.additional = compile(n.get("additionalProperties"), root, path + ".additionalProperties", refs, fixups);
        }
        if (n.has("items")) {
            s.items = compile(n.get("items"), root, path + ".items", refs, fixups);
            if (type == null) s.types = ARRAY;
        }
        if (n.has("minItems")) s.minItems = Math.max(0, n.get("minItems").asInt());
        if (n.has("maxItems")) s.maxItems = Math.max(0, n.get("maxItems").asInt());
        if (s.minItems > s.maxItems) throw new IllegalArgumentException("'" + path + "' has minItems > maxItems");
        if (n.has("minLength")) s.minLength = Math.max(0, n.get("minLength").asInt());
        if (n.has("maxLength")) s.maxLength = Math.max(0, n.get("maxLength").asInt());
        if (s.minLength > s.maxLength) throw new IllegalArgumentException("'" + path + "' has minLength > maxLength");
        if (s.types == INTEGER) { // bounds of integers only: digit by digit, a prefix either can still reach the range or not
            if (n.has("minimum")) s.minimum = bound(n.get("minimum"), path + ".minimum", true, false);
            if (n.has("exclusiveMinimum") && n.get("exclusiveMinimum").isNumber())
                s.minimum = Math.max(s.minimum, bound(n.get("exclusiveMinimum"), path + ".exclusiveMinimum", true, true));
            if (n.has("maximum")) s.maximum = bound(n.get("maximum"), path + ".maximum", false, false);
            if (n.has("exclusiveMaximum") && n.get("exclusiveMaximum").isNumber())
                s.maximum = Math.min(s.maximum, bound(n.get("exclusiveMaximum"), path + ".exclusiveMaximum", false, true));
            if (s.minimum > s.maximum) throw new IllegalArgumentException("'" + path + "' allows no integer (its minimum is above its maximum)");
        }
        if (n.has("pattern")) {
            if (!n.get("pattern").isTextual()) throw new IllegalArgumentException("'" + path + ".pattern' must be a string");
            try {
                s.pattern = Regex.grammar(searched(n.get("pattern").textValue()));
            } catch (GrammarException e) {
                throw new IllegalArgumentException("'" + path + ".pattern': " + e.getMessage());
            }
        }
        if (s.types == 0) throw new IllegalArgumentException("'" + path + ".type' allows no type");
        return s;
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
