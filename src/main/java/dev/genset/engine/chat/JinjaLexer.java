package dev.genset.engine.chat;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into text, {@code {{ }}} and {@code {% %}} parts, applying whitespace control the
 * way Hugging Face configures Jinja2 for chat templates: {@code trim_blocks} and {@code lstrip_blocks}
 * on, {@code -} markers, and one trailing newline of the source dropped ({@code keep_trailing_newline} off).
 */
final class JinjaLexer {

    enum Kind { NAME, STRING, INT, FLOAT, OP }

    record Token(Kind kind, String text, Object value, int line) {
        boolean is(String s) {
            return (kind == Kind.OP || kind == Kind.NAME) && text.equals(s);
        }
    }

    sealed interface Part {}
    record TextPart(String text) implements Part {}
    record ExprPart(List<Token> tokens, int line) implements Part {}
    record StmtPart(List<Token> tokens, int line) implements Part {}

    private final String src;
    private int pos, line = 1, linePos; // line is the line number at linePos, advanced lazily
    private final List<Part> parts = new ArrayList<>();
    private boolean stripNextText; // previous tag ended with '-'
    private boolean lineStarting = true; // for lstrip_blocks: the pending text starts at a line start

    private JinjaLexer(String src) {
        src = src.replace("\r\n", "\n");
        if (src.endsWith("\n")) src = src.substring(0, src.length() - 1);
        this.src = src;
    }

    static List<Part> lex(String src) {
        var lx = new JinjaLexer(src);
        lx.run();
        return lx.parts;
    }

    private ChatTemplateException error(String msg) {
        return new ChatTemplateException(ChatTemplateException.Kind.SYNTAX, msg + " (line " + line(pos) + ")");
    }

    private int line(int p) {
        p = Math.min(p, src.length());
        for (; linePos < p; linePos++) if (src.charAt(linePos) == '\n') line++;
        return line;
    }

    private void run() {
        while (pos < src.length()) {
            int open = nextOpen(pos);
            String text = src.substring(pos, open < 0 ? src.length() : open);
            if (open < 0) {
                emitText(text);
                pos = src.length();
                break;
            }
            char type = src.charAt(open + 1);
            char marker = open + 2 < src.length() ? src.charAt(open + 2) : 0;
            if (marker == '-') text = text.stripTrailing();
            else if (type != '{' && marker != '+') text = lstripBlock(text);
            emitText(text);
            pos = open + 2 + (marker == '-' || marker == '+' ? 1 : 0);
            int tagLine = line(open);
            if (type == '#') {
                int end = src.indexOf("#}", pos);
                if (end < 0) throw error("unclosed comment");
                boolean strip = end > pos && src.charAt(end - 1) == '-';
                advanceTo(end + 2);
                afterTag(strip, true);
            } else {
                var tokens = new ArrayList<Token>();
                boolean strip = lexTag(type == '{' ? '}' : '%', tokens);
                if (type == '{') {
                    parts.add(new ExprPart(tokens, tagLine));
                    afterTag(strip, false);
                } else if (tokens.size() == 1 && tokens.getFirst().is("raw")) {
                    afterTag(strip, true);
                    lexRaw();
                } else {
                    parts.add(new StmtPart(tokens, tagLine));
                    afterTag(strip, true);
                }
            }
        }
    }

    private int nextOpen(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** lstrip_blocks: drop spaces and tabs between the start of the line and a block or comment tag. */
    private String lstripBlock(String text) {
        int lineStart = text.lastIndexOf('\n') + 1;
        if (lineStart == 0 && !lineStarting) return text;
        for (int i = lineStart; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != ' ' && c != '\t') return text;
        }
        return text.substring(0, lineStart);
    }

    private void emitText(String text) {
        if (stripNextText) text = text.stripLeading();
        stripNextText = false;
        if (!text.isEmpty()) parts.add(new TextPart(text));
    }

    private void afterTag(boolean strip, boolean block) {
        lineStarting = false;
        if (strip) stripNextText = true;
        else if (block && pos < src.length() && src.charAt(pos) == '\n') { // trim_blocks
            pos++;
            lineStarting = true;
        }
    }

    private void advanceTo(int p) {
        pos = p;
    }

    private void lexRaw() {
        var m = java.util.regex.Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(-?)%}").matcher(src);
        if (!m.find(pos)) throw error("unclosed raw block");
        String text = src.substring(pos, m.start());
        if (m.group(1).equals("-")) text = text.stripTrailing();
        emitText(text);
        advanceTo(m.end());
        afterTag(m.group(2).equals("-"), true);
    }

    private static final String[] OPS = {
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}",
        ".", ",", ":", "|"
    };

    /** Lexes tokens up to the closing delimiter; returns whether it carried a '-' strip marker. */
    private boolean lexTag(char closeFirst, List<Token> out) {
        int depth = 0;
        while (true) {
            while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) pos++;
            if (pos >= src.length()) throw error("unclosed tag");
            char c = src.charAt(pos);
            if (depth == 0) {
                if (src.startsWith("-" + closeFirst + "}", pos)) {
                    pos += 3;
                    return true;
                }
                if (src.startsWith("+" + closeFirst + "}", pos)) {
                    pos += 3;
                    return false; // '+' would keep trim_blocks off; rare enough to treat as plain
                }
                if (src.startsWith(closeFirst + "}", pos)) {
                    pos += 2;
                    return false;
                }
            }
            if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
                out.add(new Token(Kind.NAME, src.substring(s, pos), null, line(pos)));
            } else if (Character.isDigit(c)) {
                int s = pos;
                while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
                boolean isFloat = false;
                if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
                    isFloat = true;
                    pos++;
                    while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
                }
                if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
                    int save = pos++;
                    if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) pos++;
                    if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                        isFloat = true;
                        while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
                    } else pos = save;
                }
                String t = src.substring(s, pos).replace("_", "");
                out.add(isFloat ? new Token(Kind.FLOAT, t, Double.parseDouble(t), line(pos))
                        : new Token(Kind.INT, t, Long.parseLong(t), line(pos)));
            } else if (c == '\'' || c == '"') {
                out.add(new Token(Kind.STRING, null, lexString(c), line(pos)));
            } else {
                String op = null;
                for (String o : OPS) if (src.startsWith(o, pos)) { op = o; break; }
                if (op == null) throw error("unexpected character '" + c + "'");
                if (op.equals("(") || op.equals("[") || op.equals("{")) depth++;
                if (op.equals(")") || op.equals("]") || op.equals("}")) depth = Math.max(0, depth - 1);
                pos += op.length();
                out.add(new Token(Kind.OP, op, null, line(pos)));
            }
        }
    }

    private String lexString(char quote) {
        var sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) throw error("unterminated string");
            char c = src.charAt(pos++);
            if (c == quote) return sb.toString();
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case '0' -> sb.append('\0');
                case '\\', '\'', '"' -> sb.append(e);
                case '\n' -> { } // escaped newline: a line continuation
                case 'u', 'x' -> {
                    int len = e == 'u' ? 4 : 2;
                    if (pos + len > src.length()) throw error("bad escape");
                    sb.append((char) Integer.parseInt(src.substring(pos, pos + len), 16));
                    pos += len;
                }
                default -> sb.append('\\').append(e); // Python keeps unknown escapes as written
            }
        }
    }
}
