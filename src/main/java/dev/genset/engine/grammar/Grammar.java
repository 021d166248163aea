package dev.genset.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A context-free grammar in GBNF, the notation of llama.cpp's {@code --grammar}: rules
 * {@code name ::= alternatives}, where an alternative is a sequence of string literals
 * ({@code "abc"}, with the escapes {@code \n \r \t \\ \" \[ \] \xHH \\uHHHH \UHHHHHHHH}), character
 * classes ({@code [a-z_]}, {@code [^"\\]}), {@code .} for any character, rule names, groups
 * {@code ( ... )} and the repetitions {@code * + ? {m} {m,} {m,n}}; {@code #} starts a comment. A
 * rule ends at the end of its line, except inside parentheses and after {@code |}. Generation
 * starts at the rule {@code root}.
 *
 * <p>Compiled form: each rule a list of alternatives, each alternative an array of items, an item
 * either a character class (its index, >= 0) or a rule reference ({@code ~rule}, < 0). Groups and
 * repetitions become rules of their own, so every item is one symbol: {@code S*} is {@code R} with
 * {@code R ::= S R | ""}, {@code S{2,4}} is {@code S S O1} with {@code O1 ::= S O2 | ""} and
 * {@code O2 ::= S | ""}. Grammars are matched top-down ({@link GrammarMatcher}), so a rule that can
 * reach itself before reading a character (left recursion, also through rules that can be empty)
 * is refused, as llama.cpp refuses it.
 */
public final class Grammar {
    /** Most repetitions one {@code {m,n}} may ask for (llama.cpp's bound). */
    static final int MAX_REPETITIONS = 2000;
    /** Most items in all rules together: bounds what a hostile grammar can make us hold. */
    static final int MAX_ITEMS = 1 << 20;
    /** Deepest nesting of parentheses (the parser recurses into each group). */
    static final int MAX_NESTING = 256;

    /** A set of code points: sorted, disjoint inclusive ranges (lo, hi pairs), or their complement. */
    record CharClass(int[] ranges, boolean negated) {
        static final CharClass ANY = new CharClass(new int[0], true);

        static CharClass of(int[] pairs, boolean negated) {
            int n = pairs.length / 2;
            int[][] r = new int[n][];
            for (int i = 0; i < n; i++) r[i] = new int[] {pairs[2 * i], pairs[2 * i + 1]};
            Arrays.sort(r, (a, b) -> Integer.compare(a[0], b[0]));
            int[] merged = new int[2 * n];
            int m = 0;
            for (int[] x : r) {
                if (m > 0 && x[0] <= merged[m - 1] + 1) merged[m - 1] = Math.max(merged[m - 1], x[1]);
                else {
                    merged[m++] = x[0];
                    merged[m++] = x[1];
                }
            }
            return new CharClass(Arrays.copyOf(merged, m), negated);
        }

        boolean contains(int c) {
            boolean in = false;
            for (int i = 0; i < ranges.length && !in; i += 2) in = ranges[i] <= c && c <= ranges[i + 1];
            return in != negated;
        }

        /** Whether some code point in lo..hi is in the class (for a character whose first bytes are known). */
        boolean intersects(int lo, int hi) {
            if (!negated) {
                for (int i = 0; i < ranges.length; i += 2) if (ranges[i] <= hi && lo <= ranges[i + 1]) return true;
                return false;
            }
            int next = lo; // the lowest code point of lo..hi not yet known to be excluded
            for (int i = 0; i < ranges.length && next <= hi; i += 2) {
                if (ranges[i + 1] < next) continue;
                if (ranges[i] > next) return true;
                next = ranges[i + 1] + 1;
            }
            return next <= hi;
        }
    }

    final String[] names;
    final int[][][] rules;
    final CharClass[] classes;
    final int root;

    private Grammar(String[] names, int[][][] rules, CharClass[] classes, int root) {
        this.names = names;
        this.rules = rules;
        this.classes = classes;
        this.root = root;
    }

    /** Parses GBNF text; a {@link GrammarException} says what is wrong and where. */
    public static Grammar parse(String text) {
        Parser p = new Parser(text);
        p.all();
        return p.build();
    }

    /** Number of rules, those that groups and repetitions made included. */
    public int ruleCount() {
        return rules.length;
    }

    private static final class Parser {
        private final String s;
        private int pos, items, nesting;
        private final Map<String, Integer> ids = new HashMap<>();
        private final List<String> names = new ArrayList<>();
        private final List<int[][]> rules = new ArrayList<>();
        private final List<CharClass> classes = new ArrayList<>();
        private final Map<Integer, Integer> literalClasses = new HashMap<>(); // one class per literal code point
        private int anyClass = -1;

        Parser(String s) {
            this.s = s;
        }

        private GrammarException error(String what) {
            int line = 1, col = 1;
            for (int i = 0; i < Math.min(pos, s.length()); i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    col = 1;
                } else col++;
            }
            return new GrammarException(what + " at line " + line + ", column " + col);
        }

        private int peek() {
            return pos < s.length() ? s.charAt(pos) : -1;
        }

        private int peek(int ahead) {
            return pos + ahead < s.length() ? s.charAt(pos + ahead) : -1;
        }

        private static boolean isWordChar(int c) {
            return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-';
        }

        private void space(boolean newlines) {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || newlines && (c == '\r' || c == '\n')) pos++;
                else if (c == '#') {
                    while (pos < s.length() && s.charAt(pos) != '\r' && s.charAt(pos) != '\n') pos++;
                } else break;
            }
        }

        private int symbol(String name) {
            Integer id = ids.get(name);
            if (id != null) return id;
            names.add(name);
            rules.add(null);
            ids.put(name, names.size() - 1);
            return names.size() - 1;
        }

        /** A new rule for a group or a repetition inside rule {@code base}. */
        private int fresh(String base) {
            String name = base + "_" + names.size();
            while (ids.containsKey(name)) name = name + "_";
            return symbol(name);
        }

        private void define(int rule, int[][] alternatives) {
            for (int[] a : alternatives) items += a.length + 1;
            if (items > MAX_ITEMS) throw error("the grammar is too large (over " + MAX_ITEMS + " items once its repetitions are expanded)");
            rules.set(rule, alternatives);
        }

        void all() {
            space(true);
            while (pos < s.length()) rule();
        }

        private void rule() {
            String name = name();
            space(false);
            if (!s.startsWith("::=", pos)) throw error("expected '::=' after the rule name '" + name + "'");
            pos += 3;
            space(true);
            int id = symbol(name);
            if (rules.get(id) != null) throw error("rule '" + name + "' is defined twice");
            rules.set(id, new int[0][]); // defined, even while its body is parsed
            define(id, alternates(name, false));
            if (peek() == '\r') pos += peek(1) == '\n' ? 2 : 1;
            else if (peek() == '\n') pos++;
            else if (pos < s.length()) throw error("expected the end of the line after rule '" + name + "', found '" + (char) peek() + "'");
            space(true);
        }

        private String name() {
            int start = pos;
            while (isWordChar(peek())) pos++;
            if (pos == start) throw error(pos < s.length() ? "expected a rule name, found '" + (char) peek() + "'" : "expected a rule name");
            return s.substring(start, pos);
        }

        private int[][] alternates(String rule, boolean nested) {
            List<int[]> alternatives = new ArrayList<>();
            alternatives.add(sequence(rule, nested));
            while (peek() == '|') {
                pos++;
                space(true);
                alternatives.add(sequence(rule, nested));
            }
            return alternatives.toArray(int[][]::new);
        }

        private int[] sequence(String rule, boolean nested) {
            Items out = new Items();
            int last = -1; // where the last item's symbols start, for a repetition after it
            while (true) {
                int c = peek();
                if (c == '"') {
                    pos++;
                    last = out.size;
                    while (peek() != '"') {
                        if (pos >= s.length()) throw error("unterminated string literal");
                        out.add(literalClass(character()));
                    }
                    pos++;
                } else if (c == '[') {
                    pos++;
                    last = out.size;
                    out.add(charClass());
                } else if (c == '<' || c == '!') {
                    throw error("token references such as <[id]> are not supported; write the token's text as a string");
                } else if (isWordChar(c)) {
                    last = out.size;
                    out.add(~symbol(name()));
                } else if (c == '(') {
                    if (++nesting > MAX_NESTING) throw error("groups nested more than " + MAX_NESTING + " deep");
                    pos++;
                    space(true);
                    int sub = fresh(rule);
                    rules.set(sub, new int[0][]);
                    define(sub, alternates(rule, true));
                    if (peek() != ')') throw error(pos < s.length() ? "expected ')', found '" + (char) peek() + "'" : "expected ')' before the end");
                    pos++;
                    nesting--;
                    last = out.size;
                    out.add(~sub);
                } else if (c == '.') {
                    pos++;
                    last = out.size;
                    if (anyClass < 0) {
                        classes.add(CharClass.ANY);
                        anyClass = classes.size() - 1;
                    }
                    out.add(anyClass);
                } else if (c == '*' || c == '+' || c == '?') {
                    pos++;
                    repeat(out, last, rule, c == '+' ? 1 : 0, c == '?' ? 1 : -1, (char) c);
                } else if (c == '{') {
                    pos++;
                    space(nested);
                    int min = integer(), max;
                    space(nested);
                    if (peek() == '}') max = min;
                    else if (peek() == ',') {
                        pos++;
                        space(nested);
                        max = peek() >= '0' && peek() <= '9' ? integer() : -1;
                        space(nested);
                        if (peek() != '}') throw error("expected '}'");
                    } else throw error("expected ',' or '}' in a repetition count");
                    pos++;
                    if (max >= 0 && max < min) throw error("repetition {" + min + "," + max + "} has its maximum below its minimum");
                    repeat(out, last, rule, min, max, '{');
                } else break;
                space(nested);
            }
            return out.toArray();
        }

        /** Replaces the last item of {@code out} (from {@code last}) with its repetition min..max times (max -1: unbounded). */
        private void repeat(Items out, int last, String rule, int min, int max, char op) {
            if (last < 0 || last == out.size) throw error("'" + op + "' must follow an item to repeat");
            int[] item = out.from(last);
            out.size = last;
            int symbol;
            if (item.length == 1) symbol = item[0];
            else {
                int r = fresh(rule);
                rules.set(r, new int[0][]);
                define(r, new int[][] {item});
                symbol = ~r;
            }
            for (int i = 0; i < min; i++) out.add(symbol);
            if (max < 0) {
                int r = fresh(rule);
                rules.set(r, new int[0][]);
                define(r, new int[][] {{symbol, ~r}, {}});
                out.add(~r);
            } else if (max > min) {
                int next = 0;
                for (int k = 0; k < max - min; k++) {
                    int r = fresh(rule);
                    rules.set(r, new int[0][]);
                    define(r, new int[][] {k == 0 ? new int[] {symbol} : new int[] {symbol, ~next}, {}});
                    next = r;
                }
                out.add(~next);
            }
            items += min;
            if (items > MAX_ITEMS) throw error("the grammar is too large (over " + MAX_ITEMS + " items once its repetitions are expanded)");
        }

        private int integer() {
            int start = pos;
            long v = 0;
            while (peek() >= '0' && peek() <= '9') {
                v = Math.min(v * 10 + (peek() - '0'), Integer.MAX_VALUE);
                pos++;
            }
            if (pos == start) throw error("expected a number");
            if (v > MAX_REPETITIONS) throw error("repetition count " + s.substring(start, pos) + " is over the limit of " + MAX_REPETITIONS);
            return (int) v;
        }

        private int literalClass(int c) {
            return literalClasses.computeIfAbsent(c, k -> {
                classes.add(new CharClass(new int[] {k, k}, false));
                return classes.size() - 1;
            });
        }

        private int charClass() {
            boolean negated = false;
            if (peek() == '^') {
                pos++;
                negated = true;
            }
            Items pairs = new Items();
            while (peek() != ']') {
                if (pos >= s.length()) throw error("unterminated character class");
                int lo = character(), hi = lo;
                if (peek() == '-' && peek(1) != ']' && peek(1) != -1) {
                    pos++;
                    hi = character();
                    if (hi < lo) throw error("character range is reversed (its end is below its start)");
                }
                pairs.add(lo);
                pairs.add(hi);
            }
            pos++;
            if (pairs.size == 0) throw error("empty character class");
            classes.add(CharClass.of(pairs.toArray(), negated));
            return classes.size() - 1;
        }

        /** One character of a literal or class: an escape or a code point. */
        private int character() {
            if (peek() == '\\') {
                int e = peek(1);
                pos += 2;
                return switch (e) {
                    case 'x' -> hex(2);
                    case 'u' -> hex(4);
                    case 'U' -> hex(8);
                    case 't' -> '\t';
                    case 'r' -> '\r';
                    case 'n' -> '\n';
                    case '\\', '"', '[', ']' -> e;
                    case -1 -> throw error("unexpected end after '\\'");
                    default -> {
                        pos -= 2;
                        throw error("unknown escape '\\" + (char) e + "'");
                    }
                };
            }
            int cp = s.codePointAt(pos);
            pos += Character.charCount(cp);
            return cp;
        }

        private int hex(int digits) {
            long v = 0;
            for (int i = 0; i < digits; i++) {
                int d = Character.digit(peek(), 16);
                if (peek() < 0 || d < 0) throw error("expected " + digits + " hex digits");
                v = v * 16 + d;
                pos++;
            }
            if (v > Character.MAX_CODE_POINT) throw error("code point " + Long.toHexString(v) + " is beyond Unicode");
            return (int) v;
        }

        Grammar build() {
            for (int i = 0; i < names.size(); i++)
                if (rules.get(i) == null) throw new GrammarException("undefined rule '" + names.get(i) + "'");
            Integer root = ids.get("root");
            if (root == null) throw new GrammarException("the grammar has no 'root' rule");
            int[][][] r = rules.toArray(int[][][]::new);
            String[] n = names.toArray(String[]::new);
            checkLeftRecursion(n, r);
            return new Grammar(n, r, classes.toArray(CharClass[]::new), root);
        }
    }

    /** Refuses a rule that can reach itself before any character is read (top-down matching would not end). */
    private static void checkLeftRecursion(String[] names, int[][][] rules) {
        int n = rules.length;
        boolean[] nullable = new boolean[n];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < n; r++) {
                if (nullable[r]) continue;
                for (int[] alt : rules[r]) {
                    boolean all = true;
                    for (int item : alt) if (item >= 0 || !nullable[~item]) { all = false; break; }
                    if (all) {
                        nullable[r] = changed = true;
                        break;
                    }
                }
            }
        }
        // edges r -> s where s can come first in r (after rules that can be empty); a cycle is left recursion
        int[] state = new int[n]; // 0 unvisited, 1 on the path, 2 done
        int[][] stack = new int[n][]; // iterative depth-first search: frames of (rule, alternative, item), each rule at most once on the path
        for (int r = 0; r < n; r++) {
            if (state[r] != 0) continue;
            int depth = 0;
            stack[depth++] = new int[] {r, 0, 0};
            state[r] = 1;
            while (depth > 0) {
                int[] f = stack[depth - 1];
                int[][] alts = rules[f[0]];
                int next = -1;
                while (f[1] < alts.length) {
                    int[] alt = alts[f[1]];
                    if (f[2] < alt.length && alt[f[2]] < 0 && (f[2] == 0 || alt[f[2] - 1] < 0 && nullable[~alt[f[2] - 1]])) {
                        next = ~alt[f[2]];
                        f[2]++;
                        break;
                    }
                    f[1]++;
                    f[2] = 0;
                }
                if (next < 0) {
                    state[f[0]] = 2;
                    depth--;
                } else if (state[next] == 1) {
                    throw new GrammarException("rule '" + names[next] + "' is left-recursive: it can reach itself before reading a character", true);
                } else if (state[next] == 0) {
                    state[next] = 1;
                    stack[depth++] = new int[] {next, 0, 0};
                }
            }
        }
    }

    /** A growable int array. */
    private static final class Items {
        int[] a = new int[8];
        int size;

        void add(int v) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            a[size++] = v;
        }

        int[] from(int start) {
            return Arrays.copyOfRange(a, start, size);
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
