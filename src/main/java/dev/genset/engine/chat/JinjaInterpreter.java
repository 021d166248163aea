package dev.genset.engine.chat;

import static dev.genset.engine.chat.JinjaValues.*;

import dev.genset.engine.chat.JinjaAst.*;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Tree-walking evaluator for the parsed template. One instance per render. */
final class JinjaInterpreter {

    /** How a statement list ended: normally, or through {@code break} / {@code continue}. */
    private enum Signal { NORMAL, BREAK, CONTINUE }

    /** A variable scope; for-loop bodies and macro calls open a child, as in Jinja2. */
    static final class Scope {
        private final Map<String, Object> vars = new HashMap<>();
        private final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Object v = s.vars.getOrDefault(name, UNDEFINED);
                if (v != UNDEFINED || s.vars.containsKey(name)) return v;
            }
            return UNDEFINED;
        }

        void set(String name, Object value) {
            vars.put(name, value);
        }
    }

    private final JinjaBuiltins builtins;
    private final Scope globals = new Scope(null);

    JinjaInterpreter(Supplier<ZonedDateTime> clock) {
        this.builtins = new JinjaBuiltins(clock);
        builtins.installGlobals(globals);
    }

    String render(List<Node> template, Map<String, ?> context) {
        var root = new Scope(globals);
        context.forEach((k, v) -> root.set(k, normalize(v)));
        var out = new StringBuilder();
        exec(template, root, out);
        return out.toString();
    }

    private Signal exec(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node n : nodes) {
            Signal s = exec(n, scope, out);
            if (s != Signal.NORMAL) return s;
        }
        return Signal.NORMAL;
    }

    private Signal exec(Node node, Scope scope, StringBuilder out) {
        switch (node) {
            case Text t -> out.append(t.text());
            case Output o -> out.append(str(eval(o.expr(), scope, o.line())));
            case If i -> {
                for (int k = 0; k < i.conditions().size(); k++) {
                    if (truthy(eval(i.conditions().get(k), scope, -1))) return exec(i.bodies().get(k), scope, out);
                }
                return exec(i.otherwise(), scope, out);
            }
            case For f -> {
                return execFor(f, scope, out);
            }
            case Set s -> {
                Object v = eval(s.value(), scope, s.line());
                if (s.attribute() != null) {
                    if (!(scope.get(s.targets().getFirst()) instanceof Namespace ns))
                        throw renderError("cannot assign attribute on non-namespace object '" + s.targets().getFirst() + "' (line " + s.line() + ")");
                    ns.attrs.put(s.attribute(), v);
                } else assign(scope, s.targets(), v);
            }
            case SetBlock s -> {
                var sb = new StringBuilder();
                exec(s.body(), scope, sb);
                scope.set(s.target(), sb.toString());
            }
            case Macro m -> scope.set(m.name(), macro(m, scope));
            case FilterBlock f -> {
                var sb = new StringBuilder();
                exec(f.body(), scope, sb);
                var args = new ArrayList<>();
                for (Expr a : f.args()) args.add(eval(a, scope, f.line()));
                out.append(str(builtins.filter(f.filter(), sb.toString(), args, Map.of())));
            }
            case Break b -> { return Signal.BREAK; }
            case Continue c -> { return Signal.CONTINUE; }
        }
        return Signal.NORMAL;
    }

    private static void assign(Scope scope, List<String> targets, Object v) {
        if (targets.size() == 1) {
            scope.set(targets.getFirst(), v);
            return;
        }
        List<Object> items = JinjaBuiltins.iterate(v);
        if (items.size() != targets.size())
            throw renderError("cannot unpack " + items.size() + " values into " + targets.size() + " names");
        for (int i = 0; i < targets.size(); i++) scope.set(targets.get(i), items.get(i));
    }

    private Signal execFor(For f, Scope scope, StringBuilder out) {
        List<Object> items = JinjaBuiltins.iterate(eval(f.iterable(), scope, f.line()));
        if (f.filter() != null) {
            var kept = new ArrayList<Object>();
            for (Object item : items) {
                var s = new Scope(scope);
                assign(s, f.targets(), item);
                if (truthy(eval(f.filter(), s, f.line()))) kept.add(item);
            }
            items = kept;
        }
        if (items.isEmpty()) return exec(f.otherwise(), scope, out);
        int n = items.size();
        for (int i = 0; i < n; i++) {
            var s = new Scope(scope);
            assign(s, f.targets(), items.get(i));
            var loop = new LinkedHashMap<Object, Object>();
            loop.put("index", (long) i + 1);
            loop.put("index0", (long) i);
            loop.put("revindex", (long) (n - i));
            loop.put("revindex0", (long) (n - i - 1));
            loop.put("first", i == 0);
            loop.put("last", i == n - 1);
            loop.put("length", (long) n);
            loop.put("depth", 1L);
            loop.put("depth0", 0L);
            loop.put("previtem", i > 0 ? items.get(i - 1) : UNDEFINED);
            loop.put("nextitem", i < n - 1 ? items.get(i + 1) : UNDEFINED);
            final int index = i;
            loop.put("cycle", (Callable) (args, kw) -> args.isEmpty() ? UNDEFINED : args.get(index % args.size()));
            s.set("loop", loop);
            if (exec(f.body(), s, out) == Signal.BREAK) break;
        }
        return Signal.NORMAL;
    }

    private Callable macro(Macro m, Scope defining) {
        return (args, kwargs) -> {
            var s = new Scope(defining);
            if (args.size() > m.params().size()) throw renderError("macro '" + m.name() + "' takes at most " + m.params().size() + " arguments");
            for (int i = 0; i < m.params().size(); i++) {
                String p = m.params().get(i);
                Object v;
                if (i < args.size()) v = args.get(i);
                else if (kwargs.containsKey(p)) v = kwargs.get(p);
                else if (m.defaults().get(i) != null) v = eval(m.defaults().get(i), defining, -1);
                else v = UNDEFINED;
                s.set(p, v);
            }
            var sb = new StringBuilder();
            exec(m.body(), s, sb);
            return sb.toString();
        };
    }

    Object eval(Expr e, Scope scope, int line) {
        try {
            return eval(e, scope);
        } catch (ChatTemplateException ex) {
            if (line < 0 || ex.kind() != ChatTemplateException.Kind.RENDER || ex.getMessage().contains("(line ")) throw ex;
            throw new ChatTemplateException(ex.kind(), ex.getMessage() + " (line " + line + ")");
        }
    }

    private Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Literal l -> l.value();
            case Var v -> scope.get(v.name());
            case ListExpr l -> {
                var list = new ArrayList<Object>(l.items().size());
                for (Expr x : l.items()) list.add(eval(x, scope));
                yield list;
            }
            case DictExpr d -> {
                var map = new LinkedHashMap<Object, Object>();
                for (int i = 0; i < d.keys().size(); i++) map.put(eval(d.keys().get(i), scope), eval(d.values().get(i), scope));
                yield map;
            }
            case Attr a -> JinjaBuiltins.getAttr(eval(a.target(), scope), a.name());
            case Item i -> JinjaBuiltins.getItem(eval(i.target(), scope), eval(i.key(), scope));
            case Slice s -> JinjaBuiltins.slice(eval(s.target(), scope), opt(s.start(), scope), opt(s.stop(), scope), opt(s.step(), scope));
            case Call c -> call(c, scope);
            case Filter f -> {
                var kw = kwargs(f.kwNames(), f.kwValues(), scope);
                yield builtins.filter(f.name(), eval(f.target(), scope), evalAll(f.args(), scope), kw);
            }
            case Test t -> builtins.test(t.name(), eval(t.target(), scope), evalAll(t.args(), scope)) != t.negated();
            case Unary u -> switch (u.op()) {
                case "not" -> !truthy(eval(u.operand(), scope));
                case "-" -> JinjaBuiltins.arithmetic("-", 0L, eval(u.operand(), scope));
                default -> JinjaBuiltins.arithmetic("+", 0L, eval(u.operand(), scope));
            };
            case Binary b -> switch (b.op()) {
                case "and" -> {
                    Object l = eval(b.left(), scope);
                    yield truthy(l) ? eval(b.right(), scope) : l;
                }
                case "or" -> {
                    Object l = eval(b.left(), scope);
                    yield truthy(l) ? l : eval(b.right(), scope);
                }
                default -> binary(b.op(), eval(b.left(), scope), eval(b.right(), scope));
            };
            case Cond c -> truthy(eval(c.condition(), scope)) ? eval(c.then(), scope)
                    : c.otherwise() == null ? UNDEFINED : eval(c.otherwise(), scope);
        };
    }

    private Object opt(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        var out = new ArrayList<Object>(exprs.size());
        for (Expr x : exprs) out.add(eval(x, scope));
        return out;
    }

    private Map<String, Object> kwargs(List<String> names, List<Expr> values, Scope scope) {
        if (names.isEmpty()) return Map.of();
        var kw = new LinkedHashMap<String, Object>();
        for (int i = 0; i < names.size(); i++) kw.put(names.get(i), eval(values.get(i), scope));
        return kw;
    }

    private Object call(Call c, Scope scope) {
        var args = evalAll(c.args(), scope);
        var kw = kwargs(c.kwNames(), c.kwValues(), scope);
        if (c.callee() instanceof Attr a) {
            Object target = eval(a.target(), scope);
            Object result = JinjaBuiltins.callMethod(target, a.name(), args, kw);
            if (result != JinjaBuiltins.NO_METHOD) return result;
            Object fn = JinjaBuiltins.getAttr(target, a.name());
            if (fn instanceof Callable f) return f.call(args, kw);
            throw renderError("'" + typeName(target) + "' object has no method '" + a.name() + "'");
        }
        Object fn = eval(c.callee(), scope);
        if (fn instanceof Callable f) return f.call(args, kw);
        String name = c.callee() instanceof Var v ? v.name() : "expression";
        throw renderError(fn == UNDEFINED ? "'" + name + "' is undefined" : "'" + name + "' is not callable");
    }

    static Object binary(String op, Object l, Object r) {
        return switch (op) {
            case "==" -> eq(l, r);
            case "!=" -> !eq(l, r);
            case "<" -> compare(l, r) < 0;
            case "<=" -> compare(l, r) <= 0;
            case ">" -> compare(l, r) > 0;
            case ">=" -> compare(l, r) >= 0;
            case "in" -> JinjaBuiltins.contains(r, l);
            case "not in" -> !JinjaBuiltins.contains(r, l);
            case "~" -> str(l) + str(r);
            default -> JinjaBuiltins.arithmetic(op, l, r);
        };
    }
}
