package dev.genset.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Strict reading of JSON request bodies: one object, no trailing data, no duplicate keys, no
 * unknown fields, and every field checked for type and range with a message that names it.
 * JSON {@code null} counts as absent, as OpenAI's API treats it.
 */
public final class Json {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final ObjectNode node;
    private final String prefix; // "" or "stream_options." etc., for messages

    private Json(ObjectNode node, String prefix) {
        this.node = node;
        this.prefix = prefix;
    }

    /** Parses a request body that must be one JSON object. */
    public static Json parseObject(byte[] body) {
        if (body.length == 0) throw ApiException.invalid(null, "invalid_json", "The request body is empty; expected a JSON object.");
        JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiException.invalid(null, "invalid_json", "The request body is not valid JSON" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalid(null, "invalid_json", "The request body could not be read: " + e.getMessage());
        }
        if (tree == null || tree.isMissingNode()) throw ApiException.invalid(null, "invalid_json", "The request body is empty; expected a JSON object.");
        if (!tree.isObject()) throw ApiException.invalid(null, "invalid_json", "The request body must be a JSON object, not " + describe(tree) + ".");
        return new Json((ObjectNode) tree, "");
    }

    public static Json of(ObjectNode node, String path) {
        return new Json(node, path.isEmpty() ? "" : path + ".");
    }

    /**
     * Element {@code path} (e.g. "messages[2]") of a request array as an object allowing only the
     * {@code known} fields; anything else is a 400 naming the path.
     */
    public static Json element(JsonNode n, String path, Set<String> known) {
        if (!n.isObject()) throw ApiException.invalid(path, "invalid_type", "Invalid type for '" + path + "': expected an object, but got " + describe(n) + " instead.");
        return of((ObjectNode) n, path).allowOnly(known);
    }

    public ObjectNode node() {
        return node;
    }

    /** Rejects fields not in {@code known}, as OpenAI does ("Unrecognized request argument"). */
    public Json allowOnly(Set<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f))
                throw ApiException.invalid(prefix + f, "unknown_parameter", "Unrecognized request argument supplied: " + prefix + f);
        }
        return this;
    }

    public boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    public JsonNode get(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    public String name(String field) {
        return prefix + field;
    }

    public String string(String field, String dflt) {
        JsonNode v = get(field);
        if (v == null) return dflt;
        if (!v.isTextual()) throw wrongType(field, "a string", v);
        return v.textValue();
    }

    public String requiredString(String field) {
        String s = string(field, null);
        if (s == null) throw ApiException.invalid(name(field), "missing_required_parameter", "Missing required parameter: '" + name(field) + "'.");
        return s;
    }

    public boolean bool(String field, boolean dflt) {
        JsonNode v = get(field);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw wrongType(field, "a boolean", v);
        return v.booleanValue();
    }

    public Integer integer(String field, long min, long max) {
        JsonNode v = get(field);
        if (v == null) return null;
        return (int) checkRange(field, integral(field, v), min, max);
    }

    public Long longValue(String field) {
        JsonNode v = get(field);
        if (v == null) return null;
        return integral(field, v);
    }

    public Double number(String field, double min, double max) {
        JsonNode v = get(field);
        if (v == null) return null;
        if (!v.isNumber()) throw wrongType(field, "a number", v);
        double d = v.doubleValue();
        if (d < min) throw ApiException.invalid(name(field), "decimal_below_min_value",
                "Invalid '" + name(field) + "': number below minimum value. Expected a value >= " + fmt(min) + ", but got " + v + " instead.");
        if (d > max) throw ApiException.invalid(name(field), "decimal_above_max_value",
                "Invalid '" + name(field) + "': number above maximum value. Expected a value <= " + fmt(max) + ", but got " + v + " instead.");
        return d;
    }

    public Json object(String field) {
        JsonNode v = get(field);
        if (v == null) return null;
        if (!v.isObject()) throw wrongType(field, "an object", v);
        return new Json((ObjectNode) v, prefix + field + ".");
    }

    public ArrayNode array(String field) {
        JsonNode v = get(field);
        if (v == null) return null;
        if (!v.isArray()) throw wrongType(field, "an array", v);
        return (ArrayNode) v;
    }

    /** A string or an array of strings (as {@code stop} is), as a list; null if absent. */
    public List<String> stringOrStrings(String field, int maxItems) {
        JsonNode v = get(field);
        if (v == null) return null;
        if (v.isTextual()) return List.of(v.textValue());
        if (!v.isArray()) throw wrongType(field, "a string or an array of strings", v);
        if (v.size() > maxItems) throw ApiException.invalid(name(field), "array_above_max_length",
                "Invalid '" + name(field) + "': array too long. Expected an array with at most " + maxItems + " items, but got " + v.size() + " instead.");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isTextual()) throw ApiException.invalid(name(field) + "[" + i + "]", "invalid_type",
                    "Invalid type for '" + name(field) + "[" + i + "]': expected a string, but got " + describe(e) + " instead.");
            out.add(e.textValue());
        }
        return out;
    }

    private long integral(String field, JsonNode v) {
        if (!v.isIntegralNumber()) {
            if (v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) && !v.isBigDecimal() && Math.abs(v.asDouble()) < 1e15)
                return (long) v.asDouble(); // 16.0 is 16
            throw wrongType(field, "an integer", v);
        }
        if (!v.canConvertToLong()) throw ApiException.invalid(name(field), "integer_out_of_range", "Invalid '" + name(field) + "': " + v + " is out of range.");
        return v.longValue();
    }

    private long checkRange(String field, long value, long min, long max) {
        if (value < min) throw ApiException.invalid(name(field), "integer_below_min_value",
                "Invalid '" + name(field) + "': integer below minimum value. Expected a value >= " + min + ", but got " + value + " instead.");
        if (value > max) throw ApiException.invalid(name(field), "integer_above_max_value",
                "Invalid '" + name(field) + "': integer above maximum value. Expected a value <= " + max + ", but got " + value + " instead.");
        return value;
    }

    public ApiException wrongType(String field, String expected, JsonNode got) {
        return ApiException.invalid(name(field), "invalid_type",
                "Invalid type for '" + name(field) + "': expected " + expected + ", but got " + describe(got) + " instead.");
    }

    static String describe(JsonNode v) {
        if (v == null || v.isNull()) return "null";
        if (v.isTextual()) return "a string";
        if (v.isBoolean()) return "a boolean";
        if (v.isIntegralNumber()) return "an integer";
        if (v.isNumber()) return "a decimal";
        if (v.isArray()) return "an array";
        if (v.isObject()) return "an object";
        return v.getNodeType().toString().toLowerCase();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
