package dev.genset.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Regular expressions as grammars, for vLLM's {@code regex} structured output: the whole output
 * must match the pattern (anchors {@code ^} and {@code $} at its ends are allowed and change
 * nothing). The common syntax of Python's {@code re} and JavaScript: literals and escapes
 * ({@code \n \t \. \\uHHHH \xHH}), {@code .} (any character but a newline), classes with ranges and
 * negation, {@code \d \w \s} and their negations, groups ({@code (...)}, {@code (?:...)},
 * {@code (?P<name>...)}), alternation, and the quantifiers {@code * + ? {m} {m,} {m,n}}, lazy or
 * possessive suffixes ignored (they match the same texts). Lookarounds and back-references describe
 * no context-free language and are refused with the reason.
 */
public final class Regex {
    private final String p;
    private int pos, nesting;

    private Regex(String p) {
        this.p = p;
    }

    /** The grammar whose sentences are the texts {@code pattern} matches whole. */
    public static Grammar grammar(String pattern) {
        String expression = gbnf(pattern);
        try {
            return Grammar.parse("root ::= " + expression + "\n");
        } catch (GrammarException e) {
            if (e.leftRecursive()) // the form (a?)*: fine for a backtracking matcher, endless for ours
                throw new GrammarException("regex: a repeated part can match the empty text (as in (a?)*); write it so that each round reads a character");
            throw new GrammarException("regex: " + e.getMessage());
        }
    }

    /** The pattern as a GBNF expression (a parenthesized group). */
    static String gbnf(String pattern) {
        Regex r = new Regex(pattern);
        if (r.peek() == '^') r.pos++;
        String e = r.alternation();
        if (r.pos < pattern.length()) throw r.error(r.peek() == ')' ? "unbalanced ')'" : "unexpected '" + (char) r.peek() + "'");
        return e;
    }

    private GrammarException error(String what) {
        return new GrammarException("regex: " + what + " at offset " + pos);
    }

    private int peek() {
        return pos < p.length() ? p.charAt(pos) : -1;
    }

    private String alternation() {
        List<String> alts = new ArrayList<>();
        alts.add(sequence());
        while (peek() == '|') {
            pos++;
            alts.add(sequence());
        }
        return "(" + String.join(" | ", alts) + ")";
    }

    private String sequence() {
        StringBuilder out = new StringBuilder("\"\"");
        while (pos < p.length() && peek() != '|' && peek() != ')') {
            if (peek() == '$' && pos == p.length() - 1) { // an end anchor: the whole output matches anyway
                pos++;
                break;
            }
            String atom = atom();
            out.append(' ').append(atom).append(quantifier());
        }
        return out.toString();
    }

    private String quantifier() {
        int c = peek();
        String q;
        if (c == '*' || c == '+' || c == '?') {
            pos++;
            q = String.valueOf((char) c);
        } else if (c == '{' && isCount()) {
            int close = p.indexOf('}', pos);
            String body = p.substring(pos + 1, close).replace(" ", "");
            pos = close + 1;
            q = body.startsWith(",") ? "{0" + body + "}" : "{" + body + "}";
        } else return "";
        if (peek() == '?' || peek() == '+') pos++; // lazy or possessive: the same texts
        if (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{' && isCount()) throw error("a quantifier cannot follow another");
        return q;
    }

    /** Whether a '{' here opens a count ({m}, {m,}, {m,n}, {,n}); elsewhere it is a literal brace. */
    private boolean isCount() {
        int close = p.indexOf('}', pos);
        return close > pos + 1 && p.substring(pos + 1, close).matches("\\s*\\d*\\s*(,\\s*\\d*\\s*)?") && p.substring(pos + 1, close).matches(".*\\d.*");
    }

    private String atom() {
        int c = peek();
        switch (c) {
            case '(' -> {
                if (++nesting > Grammar.MAX_NESTING) throw error("groups nested more than " + Grammar.MAX_NESTING + " deep");
                pos++;
                if (peek() == '?') {
                    pos++;
                    if (peek() == ':') pos++;
                    else if (peek() == 'P' && pos + 1 < p.length() && p.charAt(pos + 1) == '<' || peek() == '<' && pos + 1 < p.length() && Character.isLetter(p.charAt(pos + 1))) {
                        int close = p.indexOf('>', pos);
                        if (close < 0) throw error("unterminated group name");
                        pos = close + 1;
                    } else throw error("lookarounds and other (?...) groups are not supported");
                }
                String inner = alternation();
                if (peek() != ')') throw error("missing ')'");
                pos++;
                nesting--;
                return inner;
            }
            case '[' -> {
                return charClass();
            }
            case '.' -> {
                pos++;
                return "[^\\n]";
            }
            case '*', '+', '?' -> throw error("'" + (char) c + "' has nothing to repeat");
            case '^' -> throw error("'^' is supported only at the start");
            case '$' -> throw error("'$' is supported only at the end");
            case '\\' -> {
                pos++;
                String cls = classEscape();
                if (cls != null) return "[" + cls + "]";
                return literal(escape());
            }
            default -> {
                int cp = p.codePointAt(pos);
                pos += Character.charCount(cp);
                return literal(cp);
            }
        }
    }

    /** After a backslash: \d \w \s and their negations as GBNF class bodies, or null. */
    private String classEscape() {
        return switch (peek()) {
            case 'd' -> { pos++; yield "0-9"; }
            case 'D' -> { pos++; yield "^0-9"; }
            case 'w' -> { pos++; yield "a-zA-Z0-9_"; }
            case 'W' -> { pos++; yield "^a-zA-Z0-9_"; }
            case 's' -> { pos++; yield " \\t\\n\\r\\x0B\\x0C"; }
            case 'S' -> { pos++; yield "^ \\t\\n\\r\\x0B\\x0C"; }
            default -> null;
        };
    }

    /** After a backslash: the code point an escape stands for. */
    private int escape() {
        int c = peek();
        if (c < 0) throw error("a pattern cannot end with '\\'");
        pos++;
        return switch (c) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'f' -> '\f';
            case 'v' -> 0x0B;
            case '0' -> 0;
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'b', 'B', 'A', 'Z', 'z', 'G' -> throw error("the anchor '\\" + (char) c + "' is not supported");
            default -> {
                if (c >= '1' && c <= '9') throw error("back-references describe no context-free language and are not supported");
                if (Character.isLetterOrDigit(c)) throw error("unknown escape '\\" + (char) c + "'");
                yield c; // an escaped punctuation character stands for itself
            }
        };
    }

    private int hex(int digits) {
        if (pos + digits > p.length()) throw error("expected " + digits + " hex digits");
        try {
            int v = Integer.parseInt(p.substring(pos, pos + digits), 16);
            pos += digits;
            return v;
        } catch (NumberFormatException e) {
            throw error("expected " + digits + " hex digits");
        }
    }

    private String charClass() {
        pos++; // [
        StringBuilder body = new StringBuilder();
        if (peek() == '^') {
            pos++;
            body.append('^');
        }
        boolean first = true;
        while (first || peek() != ']') {
            if (pos >= p.length()) throw error("unterminated character class");
            first = false;
            int lo;
            if (peek() == '\\') {
                pos++;
                String cls = classEscape();
                if (cls != null) {
                    if (cls.startsWith("^")) throw error("a negated class escape (\\D, \\W, \\S) inside [...] is not supported");
                    body.append(cls);
                    continue;
                }
                lo = escape();
            } else {
                lo = p.codePointAt(pos);
                pos += Character.charCount(lo);
            }
            body.append(classChar(lo));
            if (peek() == '-' && pos + 1 < p.length() && p.charAt(pos + 1) != ']') {
                pos++;
                int hi;
                if (peek() == '\\') {
                    pos++;
                    hi = escape();
                } else {
                    hi = p.codePointAt(pos);
                    pos += Character.charCount(hi);
                }
                if (hi < lo) throw error("character range is reversed");
                body.append('-').append(classChar(hi));
            }
        }
        pos++; // ]
        return "[" + body + "]";
    }

    /** A code point written for a GBNF character class. */
    private static String classChar(int c) {
        return c == ']' || c == '\\' || c == '^' || c == '-' || c == '[' || c == '"' || c < 0x20 || c == 0x7F ? escaped(c) : Character.toString(c);
    }

    /** A code point as a GBNF string literal. */
    private static String literal(int c) {
        return quote(Character.toString(c));
    }

    private static String escaped(int c) {
        return c <= 0xFF ? String.format("\\x%02X", c) : c <= 0xFFFF ? String.format("\\u%04X", c) : String.format("\\U%08X", c);
    }

    /** A GBNF string literal for a whole text (vLLM's choices). */
    public static String quote(String text) {
        StringBuilder b = new StringBuilder("\"");
        text.codePoints().forEach(c -> b.append(c == '"' || c == '\\' || c < 0x20 || c == 0x7F ? escaped(c) : Character.toString(c)));
        return b.append('"').toString();
    }
}
