package dev.genset.engine.chat;

import static dev.genset.engine.chat.JinjaValues.*;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/** Globals, filters, tests and Python string/dict/list methods available to chat templates. */
final class JinjaBuiltins {
    /** What {@link #callMethod} answers when the target type has no such method. */
    static final Object NO_METHOD = new Object();

    private final Supplier<ZonedDateTime> clock;

    JinjaBuiltins(Supplier<ZonedDateTime> clock) {
        this.clock = clock;
    }

    // ---- globals ----

    void installGlobals(JinjaInterpreter.Scope g) {
        g.set("range", (Callable) (a, kw) -> {
            long start = 0, stop, step = 1;
            if (a.size() == 1) stop = toLong(a.get(0));
            else if (a.size() >= 2) {
                start = toLong(a.get(0));
                stop = toLong(a.get(1));
                if (a.size() > 2) step = toLong(a.get(2));
            } else throw renderError("range expected at least 1 argument");
            if (step == 0) throw renderError("range() arg 3 must not be zero");
            var out = new ArrayList<Object>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) out.add(i);
            return out;
        });
        g.set("namespace", (Callable) (a, kw) -> {
            var ns = new Namespace();
            for (Object x : a) if (x instanceof Map<?, ?> m) m.forEach((k, v) -> ns.attrs.put(str(k), v));
            ns.attrs.putAll(kw);
            return ns;
        });
        g.set("dict", (Callable) (a, kw) -> {
            var m = new LinkedHashMap<Object, Object>();
            for (Object x : a) if (x instanceof Map<?, ?> src) m.putAll(src);
            m.putAll(kw);
            return m;
        });
        g.set("raise_exception", (Callable) (a, kw) -> {
            throw new ChatTemplateException(ChatTemplateException.Kind.RAISED, a.isEmpty() ? "raise_exception called" : str(a.getFirst()));
        });
        g.set("strftime_now", (Callable) (a, kw) -> strftime(clock.get(), a.isEmpty() ? "" : str(a.getFirst())));
    }

    /** Python's strftime for the directives templates use (%d %b %Y and friends; %-d as on glibc). */
    static String strftime(ZonedDateTime t, String fmt) {
        var sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            boolean noPad = d == '-' && i + 1 < fmt.length();
            if (noPad) d = fmt.charAt(++i);
            String two = noPad ? "%d" : "%02d";
            switch (d) {
                case 'd' -> sb.append(String.format(two, t.getDayOfMonth()));
                case 'm' -> sb.append(String.format(two, t.getMonthValue()));
                case 'y' -> sb.append(String.format(two, t.getYear() % 100));
                case 'Y' -> sb.append(t.getYear());
                case 'H' -> sb.append(String.format(two, t.getHour()));
                case 'I' -> sb.append(String.format(two, (t.getHour() + 11) % 12 + 1));
                case 'M' -> sb.append(String.format(two, t.getMinute()));
                case 'S' -> sb.append(String.format(two, t.getSecond()));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> sb.append(String.format(noPad ? "%d" : "%03d", t.getDayOfYear()));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.US));
                case 'f' -> sb.append(String.format("%06d", t.getNano() / 1000));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }

    // ---- access ----

    static List<Object> iterate(Object v) {
        return switch (v) {
            case Undefined u -> List.of();
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s -> {
                var out = new ArrayList<Object>();
                s.codePoints().forEach(cp -> out.add(Character.toString(cp)));
                yield out;
            }
            case Collection<?> c -> new ArrayList<>(c);
            case null, default -> throw renderError("'" + typeName(v) + "' object is not iterable");
        };
    }

    static Object getAttr(Object target, String name) {
        return switch (target) {
            case Map<?, ?> m -> m.containsKey(name) ? m.get(name) : UNDEFINED;
            case Namespace ns -> ns.attrs.getOrDefault(name, UNDEFINED);
            case null, default -> UNDEFINED;
        };
    }

    static Object getItem(Object target, Object key) {
        switch (target) {
            case List<?> l when key instanceof Long || key instanceof Boolean -> {
                long i = toLong(key);
                if (i < 0) i += l.size();
                return i >= 0 && i < l.size() ? l.get((int) i) : UNDEFINED;
            }
            case String s when key instanceof Long i0 -> {
                long i = i0 < 0 ? i0 + s.length() : i0;
                return i >= 0 && i < s.length() ? String.valueOf(s.charAt((int) i)) : UNDEFINED;
            }
            case Map<?, ?> m -> {
                if (m.containsKey(key)) return m.get(key);
                return key instanceof String k ? getAttr(m, k) : UNDEFINED;
            }
            case Namespace ns when key instanceof String k -> { return getAttr(ns, k); }
            case null, default -> { return UNDEFINED; }
        }
    }

    /** Python slicing of lists and strings, negative indices and steps included. */
    static Object slice(Object target, Object start, Object stop, Object step) {
        int len = switch (target) {
            case List<?> l -> l.size();
            case String s -> s.length();
            case Undefined u -> 0;
            case null, default -> throw renderError("'" + typeName(target) + "' object is not subscriptable");
        };
        if (target == UNDEFINED) return UNDEFINED;
        long st = step == null ? 1 : toLong(step);
        if (st == 0) throw renderError("slice step cannot be zero");
        long lo, hi;
        if (st > 0) {
            lo = start == null ? 0 : clampIndex(toLong(start), len, 0, len);
            hi = stop == null ? len : clampIndex(toLong(stop), len, 0, len);
        } else {
            lo = start == null ? len - 1 : clampIndex(toLong(start), len, -1, len - 1);
            hi = stop == null ? -1 : clampIndex(toLong(stop), len, -1, len - 1);
        }
        var idx = new ArrayList<Integer>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) idx.add((int) i);
        if (target instanceof String s) {
            var sb = new StringBuilder();
            for (int i : idx) sb.append(s.charAt(i));
            return sb.toString();
        }
        var l = (List<?>) target;
        var out = new ArrayList<Object>(idx.size());
        for (int i : idx) out.add(l.get(i));
        return out;
    }

    private static long clampIndex(long i, int len, long min, long max) {
        if (i < 0) i += len;
        return Math.max(min, Math.min(max, i));
    }

    static boolean contains(Object container, Object item) {
        return switch (container) {
            case String s -> {
                if (!(item instanceof String sub)) throw renderError("'in <string>' requires string as left operand, not " + typeName(item));
                yield s.contains(sub);
            }
            case List<?> l -> l.stream().anyMatch(x -> eq(x, item));
            case Map<?, ?> m -> m.keySet().stream().anyMatch(k -> eq(k, item));
            case Namespace ns -> ns.attrs.containsKey(item);
            case Undefined u -> false;
            case null, default -> throw renderError("argument of type '" + typeName(container) + "' is not iterable");
        };
    }

    static Object arithmetic(String op, Object l, Object r) {
        if (op.equals("+")) {
            if (l instanceof String a && r instanceof String b) return a + b;
            if (l instanceof List<?> a && r instanceof List<?> b) {
                var out = new ArrayList<Object>(a);
                out.addAll(b);
                return out;
            }
        }
        if (op.equals("*")) {
            if (l instanceof String s && r instanceof Long n) return s.repeat((int) Math.max(0, n));
            if (l instanceof List<?> a && r instanceof Long n) {
                var out = new ArrayList<Object>();
                for (long i = 0; i < n; i++) out.addAll(a);
                return out;
            }
        }
        if (op.equals("%") && l instanceof String fmt) return percentFormat(fmt, r instanceof List<?> list ? list : List.of(r));
        if (!isNumber(l) || !isNumber(r)) {
            throw renderError("unsupported operand type(s) for " + op + ": '" + typeName(l) + "' and '" + typeName(r) + "'");
        }
        boolean ints = !(l instanceof Double) && !(r instanceof Double);
        if (ints) {
            long a = toLong(l), b = toLong(r);
            switch (op) {
                case "+" -> { return a + b; }
                case "-" -> { return a - b; }
                case "*" -> { return a * b; }
                case "//" -> { return Math.floorDiv(a, nonZero(b)); }
                case "%" -> { return Math.floorMod(a, nonZero(b)); }
                case "**" -> { if (b >= 0) return (long) Math.pow(a, b); }
                default -> { }
            }
        }
        double a = toDouble(l), b = toDouble(r);
        return switch (op) {
            case "+" -> a + b;
            case "-" -> a - b;
            case "*" -> a * b;
            case "/" -> a / nonZero(b);
            case "//" -> Math.floor(a / nonZero(b));
            case "%" -> a - Math.floor(a / nonZero(b)) * b;
            case "**" -> Math.pow(a, b);
            default -> throw renderError("unknown operator " + op);
        };
    }

    private static long nonZero(long b) {
        if (b == 0) throw renderError("division by zero");
        return b;
    }

    private static double nonZero(double b) {
        if (b == 0) throw renderError("division by zero");
        return b;
    }

    /** Python's printf-style {@code %} formatting, for %s %r %d %i %f and %%. */
    static String percentFormat(String fmt, List<?> args) {
        var sb = new StringBuilder();
        int ai = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            if (d == '%') {
                sb.append('%');
                continue;
            }
            if (ai >= args.size()) throw renderError("not enough arguments for format string");
            Object a = args.get(ai++);
            switch (d) {
                case 's' -> sb.append(str(a));
                case 'r' -> sb.append(repr(a));
                case 'd', 'i' -> sb.append(toLong(a));
                case 'f' -> sb.append(String.format(Locale.ROOT, "%f", toDouble(a)));
                default -> throw renderError("unsupported format character '" + d + "'");
            }
        }
        return sb.toString();
    }

    // ---- methods on str, dict and list ----

    static Object callMethod(Object target, String name, List<Object> a, Map<String, Object> kw) {
        return switch (target) {
            case String s -> stringMethod(s, name, a, kw);
            case Map<?, ?> m -> switch (name) {
                case "get" -> {
                    Object key = a.isEmpty() ? kw.get("key") : a.getFirst();
                    yield m.containsKey(key) ? m.get(key) : a.size() > 1 ? a.get(1) : kw.getOrDefault("default", null);
                }
                case "items" -> {
                    var out = new ArrayList<Object>();
                    m.forEach((k, v) -> out.add(new ArrayList<>(java.util.Arrays.asList(k, v))));
                    yield out;
                }
                case "keys" -> new ArrayList<Object>(m.keySet());
                case "values" -> new ArrayList<Object>(m.values());
                case "pop", "update", "setdefault", "clear", "popitem" -> throw unsafe(name, target);
                default -> NO_METHOD;
            };
            case List<?> l -> switch (name) {
                case "index" -> {
                    for (int i = 0; i < l.size(); i++) if (eq(l.get(i), a.getFirst())) yield (long) i;
                    throw renderError(repr(a.getFirst()) + " is not in list");
                }
                case "count" -> l.stream().filter(x -> eq(x, a.getFirst())).count();
                case "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse" -> throw unsafe(name, target);
                default -> NO_METHOD;
            };
            case null, default -> NO_METHOD;
        };
    }

    private static ChatTemplateException unsafe(String name, Object target) {
        // transformers renders in Jinja2's immutable sandbox, which refuses mutating methods.
        return renderError("access to attribute '" + name + "' of '" + typeName(target) + "' object is unsafe");
    }

    private static Object stringMethod(String s, String name, List<Object> a, Map<String, Object> kw) {
        Object arg0 = a.isEmpty() ? null : a.getFirst();
        return switch (name) {
            case "strip" -> strip(s, arg0, true, true);
            case "lstrip" -> strip(s, arg0, true, false);
            case "rstrip" -> strip(s, arg0, false, true);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> capitalize(s);
            case "startswith" -> affix(arg0).stream().anyMatch(s::startsWith);
            case "endswith" -> affix(arg0).stream().anyMatch(s::endsWith);
            case "split" -> split(s, arg0, a.size() > 1 ? toLong(a.get(1)) : toLong(kw.getOrDefault("maxsplit", -1L)));
            case "rsplit" -> rsplit(s, arg0, a.size() > 1 ? toLong(a.get(1)) : toLong(kw.getOrDefault("maxsplit", -1L)));
            case "splitlines" -> new ArrayList<Object>(s.lines().toList());
            case "replace" -> {
                long count = a.size() > 2 ? toLong(a.get(2)) : -1;
                String from = str(a.get(0)), to = str(a.get(1));
                if (count < 0) yield s.replace(from, to);
                String r = s;
                var sb = new StringBuilder();
                int pos = 0;
                for (long n = 0; n < count; n++) {
                    int i = r.indexOf(from, pos);
                    if (i < 0) break;
                    sb.append(r, pos, i).append(to);
                    pos = i + from.length();
                }
                yield sb.append(r.substring(pos)).toString();
            }
            case "find" -> (long) s.indexOf(str(arg0));
            case "rfind" -> (long) s.lastIndexOf(str(arg0));
            case "index" -> {
                int i = s.indexOf(str(arg0));
                if (i < 0) throw renderError("substring not found");
                yield (long) i;
            }
            case "count" -> {
                String sub = str(arg0);
                long n = 0;
                if (sub.isEmpty()) yield (long) s.length() + 1;
                for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
                yield n;
            }
            case "join" -> {
                var parts = new ArrayList<String>();
                for (Object x : iterate(arg0)) parts.add(str(x));
                yield String.join(s, parts);
            }
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(Locale.ROOT));
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(Locale.ROOT));
            case "format" -> strFormat(s, a, kw);
            default -> NO_METHOD;
        };
    }

    private static List<String> affix(Object arg) {
        if (arg instanceof List<?> l) return l.stream().map(JinjaValues::str).toList();
        return List.of(str(arg));
    }

    static String strip(String s, Object chars, boolean left, boolean right) {
        int b = 0, e = s.length();
        if (chars == null || chars == UNDEFINED) {
            while (left && b < e && Character.isWhitespace(s.charAt(b))) b++;
            while (right && e > b && Character.isWhitespace(s.charAt(e - 1))) e--;
        } else {
            String cs = str(chars);
            while (left && b < e && cs.indexOf(s.charAt(b)) >= 0) b++;
            while (right && e > b && cs.indexOf(s.charAt(e - 1)) >= 0) e--;
        }
        return s.substring(b, e);
    }

    private static String title(String s) {
        var sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (char c : s.toCharArray()) {
            sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    private static List<Object> split(String s, Object sep, long max) {
        var out = new ArrayList<Object>();
        if (sep == null || sep == UNDEFINED) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && Character.isWhitespace(s.charAt(i))) i++;
                if (i >= n) break;
                if (max >= 0 && out.size() == max) {
                    out.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !Character.isWhitespace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        String d = str(sep);
        if (d.isEmpty()) throw renderError("empty separator");
        int pos = 0;
        while (max < 0 || out.size() < max) {
            int i = s.indexOf(d, pos);
            if (i < 0) break;
            out.add(s.substring(pos, i));
            pos = i + d.length();
        }
        out.add(s.substring(pos));
        return out;
    }

    private static List<Object> rsplit(String s, Object sep, long max) {
        if (max < 0 || sep == null || sep == UNDEFINED) return split(s, sep, max);
        String d = str(sep);
        var out = new ArrayList<Object>();
        int end = s.length();
        while (out.size() < max) {
            int i = s.lastIndexOf(d, end - d.length());
            if (i < 0) break;
            out.addFirst(s.substring(i + d.length(), end));
            end = i;
        }
        out.addFirst(s.substring(0, end));
        return out;
    }

    /** str.format with {}, {0} and {name} fields (no format specs). */
    private static String strFormat(String s, List<Object> a, Map<String, Object> kw) {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') { sb.append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') { sb.append('}'); i++; continue; }
            if (c != '{') { sb.append(c); continue; }
            int close = s.indexOf('}', i);
            if (close < 0) throw renderError("single '{' encountered in format string");
            String field = s.substring(i + 1, close);
            Object v = field.isEmpty() ? a.get(auto++) : field.chars().allMatch(Character::isDigit) ? a.get(Integer.parseInt(field)) : kw.get(field);
            sb.append(str(v));
            i = close;
        }
        return sb.toString();
    }

    // ---- filters ----

    Object filter(String name, Object v, List<Object> a, Map<String, Object> kw) {
        Object a0 = a.isEmpty() ? null : a.get(0);
        return switch (name) {
            case "trim" -> strip(str(v), a0, true, true);
            case "upper" -> str(v).toUpperCase(Locale.ROOT);
            case "lower" -> str(v).toLowerCase(Locale.ROOT);
            case "title" -> title(str(v));
            case "capitalize" -> capitalize(str(v));
            case "length", "count" -> (long) switch (v) {
                case String s -> s.length();
                case Collection<?> c -> c.size();
                case Map<?, ?> m -> m.size();
                case Undefined u -> 0;
                case null, default -> throw renderError("object of type '" + typeName(v) + "' has no len()");
            };
            case "first" -> { var l = iterate(v); yield l.isEmpty() ? UNDEFINED : l.getFirst(); }
            case "last" -> { var l = iterate(v); yield l.isEmpty() ? UNDEFINED : l.getLast(); }
            case "join" -> {
                String sep = a0 == null ? str(kw.getOrDefault("d", "")) : str(a0);
                Object attr = a.size() > 1 ? a.get(1) : kw.get("attribute");
                var parts = new ArrayList<String>();
                for (Object x : iterate(v)) parts.add(str(attr == null ? x : attribute(x, attr)));
                yield String.join(sep, parts);
            }
            case "default", "d" -> {
                boolean bool = truthy(a.size() > 1 ? a.get(1) : kw.getOrDefault("boolean", false));
                Object dflt = a.isEmpty() ? kw.getOrDefault("default_value", "") : a0;
                yield v == UNDEFINED || (bool && !truthy(v)) ? dflt : v;
            }
            case "list" -> iterate(v);
            case "string" -> str(v);
            case "int" -> toInt(v, a.isEmpty() ? kw.getOrDefault("default", 0L) : a0);
            case "float" -> {
                try {
                    yield v instanceof String s ? Double.parseDouble(s.strip()) : toDouble(v);
                } catch (RuntimeException e) {
                    yield a.isEmpty() ? 0.0 : a0;
                }
            }
            case "abs" -> v instanceof Long l ? (Object) Math.abs(l) : (Object) Math.abs(toDouble(v));
            case "round" -> {
                long precision = a.isEmpty() ? toLong(kw.getOrDefault("precision", 0L)) : toLong(a0);
                String method = str(a.size() > 1 ? a.get(1) : kw.getOrDefault("method", "common"));
                double scale = Math.pow(10, precision), x = toDouble(v) * scale;
                double r = switch (method) {
                    case "ceil" -> Math.ceil(x);
                    case "floor" -> Math.floor(x);
                    default -> Math.signum(x) * Math.floor(Math.abs(x) + 0.5);
                };
                yield r / scale;
            }
            case "replace" -> stringMethod(str(v), "replace", a, kw);
            case "items" -> {
                if (v == UNDEFINED) yield List.of();
                if (!(v instanceof Map<?, ?>)) throw renderError("items needs a mapping, got " + typeName(v));
                yield callMethod(v, "items", List.of(), Map.of());
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> m)) throw renderError("dictsort needs a mapping, got " + typeName(v));
                @SuppressWarnings("unchecked")
                var pairs = (List<Object>) callMethod(m, "items", List.of(), Map.of());
                pairs.sort((x, y) -> compare(((List<?>) x).get(0), ((List<?>) y).get(0)));
                yield pairs;
            }
            case "selectattr", "rejectattr" -> {
                boolean keep = name.equals("selectattr");
                var out = new ArrayList<Object>();
                for (Object x : iterate(v)) {
                    Object attr = attribute(x, a0);
                    boolean ok = a.size() < 2 ? truthy(attr) : test(str(a.get(1)), attr, a.subList(2, a.size()));
                    if (ok == keep) out.add(x);
                }
                yield out;
            }
            case "select", "reject" -> {
                boolean keep = name.equals("select");
                var out = new ArrayList<Object>();
                for (Object x : iterate(v)) {
                    boolean ok = a.isEmpty() ? truthy(x) : test(str(a0), x, a.subList(1, a.size()));
                    if (ok == keep) out.add(x);
                }
                yield out;
            }
            case "map" -> {
                var out = new ArrayList<Object>();
                for (Object x : iterate(v)) {
                    if (kw.containsKey("attribute")) {
                        Object r = attribute(x, kw.get("attribute"));
                        out.add(r == UNDEFINED && kw.containsKey("default") ? kw.get("default") : r);
                    } else if (a0 != null) out.add(filter(str(a0), x, a.subList(1, a.size()), Map.of()));
                    else out.add(x);
                }
                yield out;
            }
            case "attr" -> getAttr(v, str(a0));
            case "unique" -> {
                var seen = new ArrayList<Object>();
                for (Object x : iterate(v)) if (seen.stream().noneMatch(y -> eq(x, y))) seen.add(x);
                yield seen;
            }
            case "sort" -> {
                boolean reverse = truthy(a.isEmpty() ? kw.getOrDefault("reverse", false) : a0);
                Object attr = kw.get("attribute");
                var l = iterate(v);
                Comparator<Object> cmp = (x, y) -> compare(sortKey(attr == null ? x : attribute(x, attr)), sortKey(attr == null ? y : attribute(y, attr)));
                l.sort(reverse ? cmp.reversed() : cmp);
                yield l;
            }
            case "reverse" -> {
                if (v instanceof String s) yield new StringBuilder(s).reverse().toString();
                yield iterate(v).reversed();
            }
            case "min", "max" -> {
                Object attr = kw.get("attribute");
                var l = iterate(v);
                if (l.isEmpty()) yield UNDEFINED;
                Comparator<Object> cmp = (x, y) -> compare(sortKey(attr == null ? x : attribute(x, attr)), sortKey(attr == null ? y : attribute(y, attr)));
                yield name.equals("min") ? l.stream().min(cmp).get() : l.stream().max(cmp).get();
            }
            case "sum" -> {
                Object attr = kw.get("attribute");
                Object total = kw.getOrDefault("start", 0L);
                for (Object x : iterate(v)) total = arithmetic("+", total, attr == null ? x : attribute(x, attr));
                yield total;
            }
            case "tojson" -> {
                Object ind = a.isEmpty() ? kw.get("indent") : a0;
                Object seps = kw.get("separators");
                String itemSep = null, keySep = null;
                if (seps instanceof List<?> l && l.size() == 2) {
                    itemSep = str(l.get(0));
                    keySep = str(l.get(1));
                }
                yield toJson(v, ind == null ? null : (int) toLong(ind), truthy(kw.getOrDefault("sort_keys", false)), itemSep, keySep);
            }
            case "indent" -> {
                long width = a.isEmpty() ? toLong(kw.getOrDefault("width", 4L)) : toLong(a0);
                boolean first = truthy(a.size() > 1 ? a.get(1) : kw.getOrDefault("first", false));
                boolean blank = truthy(a.size() > 2 ? a.get(2) : kw.getOrDefault("blank", false));
                String pad = " ".repeat((int) width);
                String[] lines = str(v).split("\n", -1);
                var sb = new StringBuilder();
                for (int i = 0; i < lines.length; i++) {
                    if (i > 0) sb.append('\n');
                    boolean indentLine = (i > 0 || first) && (blank || !lines[i].isBlank());
                    sb.append(indentLine ? pad : "").append(lines[i]);
                }
                yield sb.toString();
            }
            case "wordcount" -> (long) split(str(v), null, -1).size();
            case "safe" -> v;
            case "e", "escape", "forceescape" -> str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    .replace("\"", "&#34;").replace("'", "&#39;");
            case "format" -> percentFormat(str(v), a);
            case "batch" -> {
                long size = toLong(a0);
                var out = new ArrayList<Object>();
                var cur = new ArrayList<Object>();
                for (Object x : iterate(v)) {
                    cur.add(x);
                    if (cur.size() == size) {
                        out.add(cur);
                        cur = new ArrayList<>();
                    }
                }
                if (!cur.isEmpty()) out.add(cur);
                yield out;
            }
            default -> throw renderError("no filter named '" + name + "'");
        };
    }

    private static Object sortKey(Object x) {
        return x instanceof String s ? s.toLowerCase(Locale.ROOT) : x; // Jinja2 sorts case-insensitively by default
    }

    private static Object toInt(Object v, Object dflt) {
        return switch (v) {
            case Long l -> l;
            case Double d -> (long) (double) d;
            case Boolean b -> b ? 1L : 0L;
            case String s -> {
                try {
                    yield Long.parseLong(s.strip());
                } catch (NumberFormatException e) {
                    try {
                        yield (long) Double.parseDouble(s.strip());
                    } catch (NumberFormatException e2) {
                        yield dflt;
                    }
                }
            }
            case null, default -> dflt;
        };
    }

    /** Jinja2 attribute lookup for filters: dotted paths and integer indices. */
    private static Object attribute(Object x, Object attr) {
        if (attr instanceof Long i) return getItem(x, i);
        Object cur = x;
        for (String part : str(attr).split("\\.")) {
            cur = part.chars().allMatch(Character::isDigit) && !part.isEmpty() ? getItem(cur, Long.parseLong(part)) : getItem(cur, part);
        }
        return cur;
    }

    // ---- tests ----

    boolean test(String name, Object v, List<Object> a) {
        Object a0 = a.isEmpty() ? null : a.getFirst();
        return switch (name) {
            case "defined" -> v != UNDEFINED;
            case "undefined" -> v == UNDEFINED;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "number" -> isNumber(v);
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map<?, ?>;
            case "iterable" -> v instanceof String || v instanceof Collection<?> || v instanceof Map<?, ?>;
            case "sequence" -> v instanceof String || v instanceof List<?> || v instanceof Map<?, ?>;
            case "callable" -> v instanceof Callable;
            case "even" -> toLong(v) % 2 == 0;
            case "odd" -> toLong(v) % 2 != 0;
            case "divisibleby" -> toLong(v) % toLong(a0) == 0;
            case "equalto", "eq", "==", "sameas" -> eq(v, a0);
            case "ne", "!=" -> !eq(v, a0);
            case "lt", "lessthan", "<" -> compare(v, a0) < 0;
            case "le", "<=" -> compare(v, a0) <= 0;
            case "gt", "greaterthan", ">" -> compare(v, a0) > 0;
            case "ge", ">=" -> compare(v, a0) >= 0;
            case "in" -> contains(a0, v);
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
            case "escaped" -> false;
            case "filter" -> FILTER_NAMES.contains(str(v));
            case "test" -> TEST_NAMES.contains(str(v));
            default -> throw renderError("no test named '" + name + "'");
        };
    }

    private static final java.util.Set<String> FILTER_NAMES = new LinkedHashSet<>(List.of(
            "trim", "upper", "lower", "title", "capitalize", "length", "count", "first", "last", "join", "default", "d",
            "list", "string", "int", "float", "abs", "round", "replace", "items", "dictsort", "selectattr", "rejectattr",
            "select", "reject", "map", "attr", "unique", "sort", "reverse", "min", "max", "sum", "tojson", "indent",
            "wordcount", "safe", "e", "escape", "forceescape", "format", "batch"));
    private static final java.util.Set<String> TEST_NAMES = new LinkedHashSet<>(List.of(
            "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string",
            "mapping", "iterable", "sequence", "callable", "even", "odd", "divisibleby", "equalto", "eq", "sameas",
            "ne", "lt", "le", "gt", "ge", "in", "lower", "upper", "escaped", "filter", "test"));
}
