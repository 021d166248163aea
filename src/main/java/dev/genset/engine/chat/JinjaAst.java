package dev.genset.engine.chat;

import java.util.List;

/** Syntax tree of the Jinja subset that chat templates use. */
final class JinjaAst {
    private JinjaAst() {}

    sealed interface Node {}
    record Text(String text) implements Node {}
    record Output(Expr expr, int line) implements Node {}
    record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise) implements Node {}
    record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise, int line)
            implements Node {}
    /** {@code set a = x}, {@code set a, b = x}, or {@code set ns.attr = x} (then {@code attribute} is set). */
    record Set(List<String> targets, String attribute, Expr value, int line) implements Node {}
    record SetBlock(String target, List<Node> body) implements Node {}
    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}
    record FilterBlock(String filter, List<Expr> args, List<Node> body, int line) implements Node {}
    record Break() implements Node {}
    record Continue() implements Node {}

    sealed interface Expr {}
    record Literal(Object value) implements Expr {}
    record Var(String name) implements Expr {}
    record ListExpr(List<Expr> items) implements Expr {}
    record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {}
    record Attr(Expr target, String name) implements Expr {}
    record Item(Expr target, Expr key) implements Expr {}
    record Slice(Expr target, Expr start, Expr stop, Expr step) implements Expr {}
    record Call(Expr callee, List<Expr> args, List<String> kwNames, List<Expr> kwValues) implements Expr {}
    record Filter(Expr target, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues)
            implements Expr {}
    record Test(Expr target, String name, List<Expr> args, boolean negated) implements Expr {}
    record Unary(String op, Expr operand) implements Expr {}
    record Binary(String op, Expr left, Expr right) implements Expr {}
    record Cond(Expr then, Expr condition, Expr otherwise) implements Expr {}
}
