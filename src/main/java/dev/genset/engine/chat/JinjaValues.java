package dev.genset.engine.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The value model and Python semantics (truthiness, str, repr, equality, ordering, JSON) shared by the
 * interpreter and its built-ins. Values are String, Long, Double, Boolean, null (None),
 * {@link #UNDEFINED}, List, Map, {@link Namespace} and {@link Callable}.
 */
final class JinjaValues {
    private JinjaValues() {}

    /** Jinja2's Undefined: falsy, prints as nothing, iterates as empty. */
    enum Undefined { UNDEFINED }

    static final Object UNDEFINED = Undefined.UNDEFINED;

    /** The mutable attribute bag made by {@code namespace()}, the one object {@code set x.y = ...} may change. */
    static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    @FunctionalInterface
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    static ChatTemplateException renderError(String msg) {
        return new ChatTemplateException(ChatTemplateException.Kind.RENDER, msg);
    }

    /** Converts caller-supplied Java values into the model: ints to Long, floats to Double, records of chat messages to maps. */
    static Object normalize(Object v) {
        return switch (v) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Long l -> l;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Double d -> d;
            case Float f -> (double) f;
            case BigDecimal d -> d.doubleValue();
            case Number n -> n.longValue();
            case CharSequence cs -> cs.toString();
            case ChatMessage m -> messageMap(m, true, true);
            case Map<?, ?> m -> {
                var map = new LinkedHashMap<Object, Object>();
                m.forEach((k, x) -> map.put(normalize(k), normalize(x)));
                yield map;
            }
            case Collection<?> c -> {
                var list = new ArrayList<Object>(c.size());
                for (Object x : c) list.add(normalize(x));
                yield list;
            }
            case Object[] a -> normalize(List.of(a));
            default -> v; // callables, namespaces, and anything else passed through as is
        };
    }

    /**
     * A message as transformers passes OpenAI-style messages: {@code role} and {@code content}, plus
     * {@code tool_calls} ({@code [{id, type, function: {name, arguments}}]}), {@code tool_call_id} and
     * {@code name} only when the message has them (templates test {@code 'tool_calls' in message}).
     *
     * @param objectArguments arguments as a dict (what most templates' {@code | tojson} expects) instead of JSON text
     * @param nullContent     an assistant turn with calls and no text has content None instead of ""
     */
    static Map<Object, Object> messageMap(ChatMessage m, boolean objectArguments, boolean nullContent) {
        var map = new LinkedHashMap<Object, Object>();
        map.put("role", m.role());
        map.put("content", nullContent && m.content().isEmpty() && !m.toolCalls().isEmpty() ? null : m.content());
        if (!m.toolCalls().isEmpty()) {
            var calls = new ArrayList<Object>();
            for (ToolCall c : m.toolCalls()) {
                var fn = new LinkedHashMap<Object, Object>();
                fn.put("name", c.name());
                fn.put("arguments", objectArguments ? normalize(c.argumentsValue()) : c.arguments());
                var call = new LinkedHashMap<Object, Object>();
                if (c.id() != null) call.put("id", c.id());
                call.put("type", "function");
                call.put("function", fn);
                calls.add(call);
            }
            map.put("tool_calls", calls);
        }
        if (m.toolCallId() != null) map.put("tool_call_id", m.toolCallId());
        if (m.name() != null) map.put("name", m.name());
        return map;
    }

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Undefined u -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0;
            case String s -> !s.isEmpty();
            case Collection<?> c -> !c.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static double toDouble(Object v) {
        return switch (v) {
            case Long l -> l;
            case Double d -> d;
            case Boolean b -> b ? 1 : 0;
            case null, default -> throw renderError("expected a number, got " + typeName(v));
        };
    }

    static long toLong(Object v) {
        return switch (v) {
            case Long l -> l;
            case Double d -> (long) (double) d;
            case Boolean b -> b ? 1 : 0;
            case null, default -> throw renderError("expected an integer, got " + typeName(v));
        };
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Undefined u -> "Undefined";
            case String s -> "str";
            case Long l -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Namespace n -> "Namespace";
            case Callable c -> "function";
            default -> v.getClass().getSimpleName();
        };
    }

    /** Python's str(). */
    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case Undefined u -> "";
            case String s -> s;
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            default -> repr(v);
        };
    }

    /** Python's repr(), used when lists and dicts are printed. */
    static String repr(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> {
                char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
                var sb = new StringBuilder().append(q);
                for (char c : s.toCharArray()) {
                    switch (c) {
                        case '\\' -> sb.append("\\\\");
                        case '\n' -> sb.append("\\n");
                        case '\r' -> sb.append("\\r");
                        case '\t' -> sb.append("\\t");
                        default -> {
                            if (c == q) sb.append('\\');
                            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
                            else sb.append(c);
                        }
                    }
                }
                yield sb.append(q).toString();
            }
            case List<?> l -> {
                var sb = new StringBuilder("[");
                for (int i = 0; i < l.size(); i++) sb.append(i > 0 ? ", " : "").append(repr(l.get(i)));
                yield sb.append(']').toString();
            }
            case Map<?, ?> m -> {
                var sb = new StringBuilder("{");
                boolean first = true;
                for (var e : m.entrySet()) {
                    sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                    first = false;
                }
                yield sb.append('}').toString();
            }
            case Namespace n -> "<Namespace " + repr(n.attrs) + ">";
            case Callable c -> "<function>";
            default -> str(v);
        };
    }

    /** Python's float repr: shortest round-trip digits, always with a '.' or an exponent. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return (d == 0 && 1 / d < 0 ? "-" : "") + (long) d + ".0";
        String s = Double.toString(d); // Java also prints the shortest round-trip digits
        int e = s.indexOf('E');
        if (e < 0) return s;
        String mantissa = s.substring(0, e).replaceAll("\\.0$", "");
        int exp = Integer.parseInt(s.substring(e + 1));
        if (exp >= -4 && exp < 16) return new BigDecimal(s).toPlainString();
        return mantissa + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
    }

    /** Python ==. */
    static boolean eq(Object a, Object b) {
        if (a == b) return true;
        if (a == null || b == null) return false;
        if (isNumber(a) && isNumber(b)) { // Python: 1 == 1.0 and True == 1
            return a instanceof Long x && b instanceof Long y ? x.longValue() == y.longValue() : toDouble(a) == toDouble(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!eq(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) return false;
            for (var e : x.entrySet()) if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) return false;
            return true;
        }
        return a.equals(b);
    }

    /** Python ordering for numbers, strings and lists; anything else is a TypeError as in Python. */
    static int compare(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            return a instanceof Long x && b instanceof Long y ? Long.compare(x, y) : Double.compare(toDouble(a), toDouble(b));
        }
        if (a instanceof String x && b instanceof String y) return x.compareTo(y);
        if (a instanceof List<?> x && b instanceof List<?> y) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                int c = compare(x.get(i), y.get(i));
                if (c != 0) return c;
            }
            return Integer.compare(x.size(), y.size());
        }
        throw renderError("cannot compare " + typeName(a) + " with " + typeName(b));
    }

    /** Python's json.dumps as transformers' tojson calls it: ensure_ascii off, optional indent and sort_keys. */
    static String toJson(Object v, Integer indent, boolean sortKeys, String itemSep, String keySep) {
        if (itemSep == null) itemSep = indent == null ? ", " : ",";
        if (keySep == null) keySep = ": ";
        var sb = new StringBuilder();
        writeJson(sb, v, indent, sortKeys, itemSep, keySep, 0);
        return sb.toString();
    }

    private static void writeJson(StringBuilder sb, Object v, Integer indent, boolean sort, String itemSep, String keySep, int level) {
        switch (v) {
            case null -> sb.append("null");
            case Undefined u -> sb.append("null");
            case Boolean b -> sb.append(b);
            case Long l -> sb.append(l);
            case Double d -> sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : floatRepr(d));
            case String s -> jsonString(sb, s);
            case List<?> l -> {
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) sb.append(itemSep);
                    newline(sb, indent, level + 1);
                    writeJson(sb, l.get(i), indent, sort, itemSep, keySep, level + 1);
                }
                newline(sb, indent, level);
                sb.append(']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                if (sort) entries.sort((x, y) -> compare(str(x.getKey()), str(y.getKey())));
                sb.append('{');
                boolean first = true;
                for (var e : entries) {
                    if (!first) sb.append(itemSep);
                    first = false;
                    newline(sb, indent, level + 1);
                    jsonString(sb, e.getKey() instanceof String s ? s : str(e.getKey()));
                    sb.append(keySep);
                    writeJson(sb, e.getValue(), indent, sort, itemSep, keySep, level + 1);
                }
                newline(sb, indent, level);
                sb.append('}');
            }
            case Namespace n -> writeJson(sb, n.attrs, indent, sort, itemSep, keySep, level);
            default -> throw renderError("Object of type " + typeName(v) + " is not JSON serializable");
        }
    }

    private static void newline(StringBuilder sb, Integer indent, int level) {
        if (indent == null) return;
        sb.append('\n').append(" ".repeat(indent * level));
    }

    private static void jsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
