package dev.genset.engine.chat;

import dev.genset.engine.chat.JinjaAst.*;
import dev.genset.engine.chat.JinjaLexer.*;
import java.util.ArrayList;
import java.util.List;

/** Recursive-descent parser following Jinja2's grammar and operator precedence. */
final class JinjaParser {
    private final List<Part> parts;
    private int partIndex;
    // cursor inside the current tag
    private List<Token> toks = List.of();
    private int ti, tagLine;

    private JinjaParser(List<Part> parts) {
        this.parts = parts;
    }

    static List<Node> parse(String source) {
        var p = new JinjaParser(JinjaLexer.lex(source));
        var body = p.parseBody();
        if (p.pendingEnd != null) throw p.error("unexpected '" + p.pendingEnd + "'");
        return body;
    }

    private String pendingEnd; // the block keyword that stopped parseBody

    private ChatTemplateException error(String msg) {
        return new ChatTemplateException(ChatTemplateException.Kind.SYNTAX, msg + " (line " + tagLine + ")");
    }

    /** Parses nodes until a statement it does not open (elif/else/end...), left in pendingEnd. */
    private List<Node> parseBody() {
        var out = new ArrayList<Node>();
        pendingEnd = null;
        while (partIndex < parts.size()) {
            Part part = parts.get(partIndex++);
            switch (part) {
                case TextPart t -> out.add(new Text(t.text()));
                case ExprPart e -> {
                    begin(e.tokens(), e.line());
                    out.add(new Output(expression(), e.line()));
                    end();
                }
                case StmtPart s -> {
                    begin(s.tokens(), s.line());
                    if (toks.isEmpty()) throw error("empty statement");
                    String kw = next().text();
                    Node n = statement(kw);
                    if (n == null) {
                        pendingEnd = kw;
                        return out;
                    }
                    out.add(n);
                }
            }
        }
        return out;
    }

    private Node statement(String kw) {
        return switch (kw) {
            case "if" -> parseIf();
            case "for" -> parseFor();
            case "set" -> parseSet();
            case "macro" -> parseMacro();
            case "filter" -> parseFilterBlock();
            case "break" -> { end(); yield new Break(); }
            case "continue" -> { end(); yield new Continue(); }
            case "generation" -> { // transformers' assistant-mask marker: renders its body unchanged
                end();
                var body = parseBody();
                expectEnd("endgeneration");
                yield new If(List.of(new Literal(true)), List.of(body), List.of());
            }
            case "elif", "else", "endif", "endfor", "endset", "endmacro", "endfilter", "endgeneration" -> null;
            default -> throw error("unknown statement '" + kw + "'");
        };
    }

    private void expectEnd(String kw) {
        if (!kw.equals(pendingEnd)) throw error("expected '" + kw + "' but found " + (pendingEnd == null ? "end of template" : "'" + pendingEnd + "'"));
        end();
        pendingEnd = null;
    }

    private Node parseIf() {
        var conds = new ArrayList<Expr>();
        var bodies = new ArrayList<List<Node>>();
        conds.add(expression());
        end();
        while (true) {
            bodies.add(parseBody());
            if ("elif".equals(pendingEnd)) {
                conds.add(expression());
                end();
            } else if ("else".equals(pendingEnd)) {
                end();
                var otherwise = parseBody();
                expectEnd("endif");
                return new If(conds, bodies, otherwise);
            } else {
                expectEnd("endif");
                return new If(conds, bodies, List.of());
            }
        }
    }

    private Node parseFor() {
        int line = tagLine;
        var targets = new ArrayList<String>();
        do targets.add(name()); while (accept(","));
        expect("in");
        Expr iterable = orExpr(); // no ternary: a trailing 'if' is the loop filter
        Expr filter = accept("if") ? orExpr() : null;
        accept("recursive");
        end();
        var body = parseBody();
        List<Node> otherwise = List.of();
        if ("else".equals(pendingEnd)) {
            end();
            otherwise = parseBody();
        }
        expectEnd("endfor");
        return new For(targets, iterable, filter, body, otherwise, line);
    }

    private Node parseSet() {
        int line = tagLine;
        var targets = new ArrayList<String>();
        targets.add(name());
        String attribute = null;
        if (accept(".")) attribute = name();
        else while (accept(",")) targets.add(name());
        if (!accept("=")) {
            if (attribute != null || targets.size() > 1) throw error("block set takes a single name");
            end();
            var body = parseBody();
            expectEnd("endset");
            return new SetBlock(targets.getFirst(), body);
        }
        Expr value = tupleOrExpression();
        end();
        return new Set(targets, attribute, value, line);
    }

    private Node parseMacro() {
        String name = name();
        var params = new ArrayList<String>();
        var defaults = new ArrayList<Expr>();
        expect("(");
        while (!accept(")")) {
            params.add(name());
            defaults.add(accept("=") ? expression() : null);
            if (!peekIs(")")) expect(",");
        }
        end();
        var body = parseBody();
        expectEnd("endmacro");
        return new Macro(name, params, defaults, body);
    }

    private Node parseFilterBlock() {
        int line = tagLine;
        String name = name();
        var args = new ArrayList<Expr>();
        if (accept("(")) {
            while (!accept(")")) {
                args.add(expression());
                if (!peekIs(")")) expect(",");
            }
        }
        end();
        var body = parseBody();
        expectEnd("endfilter");
        return new FilterBlock(name, args, body, line);
    }

    // ---- token cursor ----

    private void begin(List<Token> tokens, int line) {
        toks = tokens;
        ti = 0;
        tagLine = line;
    }

    private void end() {
        if (ti < toks.size()) throw error("unexpected '" + show(toks.get(ti)) + "'");
    }

    private static String show(Token t) {
        return t.kind() == Kind.STRING ? "'" + t.value() + "'" : t.text();
    }

    private Token peek() {
        return ti < toks.size() ? toks.get(ti) : null;
    }

    private boolean peekIs(String s) {
        Token t = peek();
        return t != null && t.is(s);
    }

    private Token next() {
        if (ti >= toks.size()) throw error("unexpected end of tag");
        return toks.get(ti++);
    }

    private boolean accept(String s) {
        if (!peekIs(s)) return false;
        ti++;
        return true;
    }

    private void expect(String s) {
        if (!accept(s)) throw error("expected '" + s + "'" + (peek() == null ? " at end of tag" : " but found '" + show(peek()) + "'"));
    }

    private String name() {
        Token t = next();
        if (t.kind() != Kind.NAME) throw error("expected a name but found '" + show(t) + "'");
        return t.text();
    }

    // ---- expressions, loosest first ----

    /** An expression, or a bare tuple {@code a, b} (as in {@code set x = a, b}). */
    private Expr tupleOrExpression() {
        Expr first = expression();
        if (!peekIs(",")) return first;
        var items = new ArrayList<Expr>(List.of(first));
        while (accept(",")) if (peek() != null) items.add(expression());
        return new ListExpr(items);
    }

    Expr expression() {
        Expr e = orExpr();
        while (accept("if")) {
            Expr cond = orExpr();
            Expr otherwise = accept("else") ? expression() : null;
            e = new Cond(e, cond, otherwise);
        }
        return e;
    }

    private Expr orExpr() {
        Expr e = andExpr();
        while (accept("or")) e = new Binary("or", e, andExpr());
        return e;
    }

    private Expr andExpr() {
        Expr e = notExpr();
        while (accept("and")) e = new Binary("and", e, notExpr());
        return e;
    }

    private Expr notExpr() {
        if (accept("not")) return new Unary("not", notExpr());
        return compare();
    }

    private Expr compare() {
        Expr e = math1();
        while (true) {
            Token t = peek();
            if (t == null) return e;
            if (t.kind() == Kind.OP && List.of("==", "!=", "<", "<=", ">", ">=").contains(t.text())) {
                ti++;
                e = new Binary(t.text(), e, math1());
            } else if (t.is("in")) {
                ti++;
                e = new Binary("in", e, math1());
            } else if (t.is("not") && ti + 1 < toks.size() && toks.get(ti + 1).is("in")) {
                ti += 2;
                e = new Binary("not in", e, math1());
            } else return e;
        }
    }

    private Expr math1() {
        Expr e = concat();
        while (peekIs("+") || peekIs("-")) e = new Binary(next().text(), e, concat());
        return e;
    }

    private Expr concat() {
        Expr e = math2();
        while (accept("~")) e = new Binary("~", e, math2());
        return e;
    }

    private Expr math2() {
        Expr e = pow();
        while (peekIs("*") || peekIs("/") || peekIs("//") || peekIs("%")) e = new Binary(next().text(), e, pow());
        return e;
    }

    private Expr pow() {
        Expr e = unary(true);
        while (accept("**")) e = new Binary("**", e, unary(true));
        return e;
    }

    private Expr unary(boolean withFilter) {
        Expr e;
        if (accept("-")) e = new Unary("-", unary(false));
        else if (accept("+")) e = new Unary("+", unary(false));
        else e = primary();
        e = postfix(e);
        return withFilter ? filtersAndTests(e) : e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.kind()) {
            case STRING -> {
                var sb = new StringBuilder((String) t.value());
                while (peek() != null && peek().kind() == Kind.STRING) sb.append((String) next().value());
                return new Literal(sb.toString());
            }
            case INT, FLOAT -> { return new Literal(t.value()); }
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Literal(true);
                    case "false", "False" -> new Literal(false);
                    case "none", "None" -> new Literal(null);
                    default -> new Var(t.text());
                };
            }
            default -> { }
        }
        switch (t.text()) {
            case "(" -> {
                if (accept(")")) return new ListExpr(List.of());
                Expr e = expression();
                if (accept(")")) return e;
                var items = new ArrayList<Expr>(List.of(e));
                while (accept(",")) {
                    if (peekIs(")")) break;
                    items.add(expression());
                }
                expect(")");
                return new ListExpr(items); // tuples behave as lists here
            }
            case "[" -> {
                var items = new ArrayList<Expr>();
                while (!accept("]")) {
                    items.add(expression());
                    if (!peekIs("]")) expect(",");
                }
                return new ListExpr(items);
            }
            case "{" -> {
                var keys = new ArrayList<Expr>();
                var values = new ArrayList<Expr>();
                while (!accept("}")) {
                    keys.add(expression());
                    expect(":");
                    values.add(expression());
                    if (!peekIs("}")) expect(",");
                }
                return new DictExpr(keys, values);
            }
            default -> throw error("unexpected '" + show(t) + "'");
        }
    }

    private Expr postfix(Expr e) {
        while (true) {
            if (accept(".")) {
                Token t = next();
                e = t.kind() == Kind.INT ? new Item(e, new Literal(t.value())) : new Attr(e, nameOf(t));
            } else if (accept("[")) {
                e = subscript(e);
            } else if (peekIs("(")) {
                e = call(e);
            } else return e;
        }
    }

    private String nameOf(Token t) {
        if (t.kind() != Kind.NAME) throw error("expected an attribute name but found '" + show(t) + "'");
        return t.text();
    }

    private Expr subscript(Expr target) {
        Expr start = null, stop = null, step = null;
        if (!peekIs(":")) {
            start = expression();
            if (accept("]")) return new Item(target, start);
        }
        expect(":");
        if (!peekIs(":") && !peekIs("]")) stop = expression();
        if (accept(":") && !peekIs("]")) step = expression();
        expect("]");
        return new Slice(target, start, stop, step);
    }

    private Call call(Expr callee) {
        var args = new ArrayList<Expr>();
        var kwNames = new ArrayList<String>();
        var kwValues = new ArrayList<Expr>();
        callArgs(args, kwNames, kwValues);
        return new Call(callee, args, kwNames, kwValues);
    }

    private void callArgs(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {
        expect("(");
        while (!accept(")")) {
            Token t = peek();
            if (t != null && t.kind() == Kind.NAME && ti + 1 < toks.size() && toks.get(ti + 1).is("=")) {
                ti += 2;
                kwNames.add(t.text());
                kwValues.add(expression());
            } else {
                if (!kwNames.isEmpty()) throw error("positional argument after keyword argument");
                args.add(expression());
            }
            if (!peekIs(")")) expect(",");
        }
    }

    private Expr filtersAndTests(Expr e) {
        while (true) {
            if (accept("|")) {
                String name = dottedName();
                var args = new ArrayList<Expr>();
                var kwNames = new ArrayList<String>();
                var kwValues = new ArrayList<Expr>();
                if (peekIs("(")) callArgs(args, kwNames, kwValues);
                e = new Filter(e, name, args, kwNames, kwValues);
            } else if (accept("is")) {
                boolean negated = accept("not");
                String name = dottedName();
                var args = new ArrayList<Expr>();
                if (peekIs("(")) {
                    var kwNames = new ArrayList<String>();
                    callArgs(args, kwNames, new ArrayList<>());
                    if (!kwNames.isEmpty()) throw error("tests take no keyword arguments");
                } else if (startsTestArgument(peek())) {
                    args.add(postfix(primary()));
                }
                e = new Test(e, name, args, negated);
            } else if (peekIs("(")) {
                e = call(e);
            } else return e;
        }
    }

    /** Jinja2 lets a test take one argument without parentheses: {@code x is divisibleby 3}. */
    private static boolean startsTestArgument(Token t) {
        if (t == null) return false;
        return switch (t.kind()) {
            case STRING, INT, FLOAT -> true;
            case NAME -> !List.of("else", "or", "and", "if", "in", "not", "is").contains(t.text());
            case OP -> t.text().equals("[") || t.text().equals("{");
        };
    }

    private String dottedName() {
        var sb = new StringBuilder(name());
        while (peekIs(".")) {
            ti++;
            sb.append('.').append(name());
        }
        return sb.toString();
    }
}
