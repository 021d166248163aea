package dev.genset.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;

/** Prints a {@link Working} as a table, as JSON, or with each figure's formula and inputs. */
public final class Report {
    private Report() {}

    public static void table(Working w, PrintStream out) {
        out.println(w.title());
        int lw = 0;
        for (Figure f : w.figures()) lw = Math.max(lw, f.label().length() + section(f).length());
        String section = "";
        for (Figure f : w.figures()) {
            String s = section(f);
            if (!s.equals(section)) {
                section = s;
                out.println();
                out.println(s.replace(": ", "") + ":");
            }
            out.printf("  %-" + (lw + 2) + "s %s%n", f.label(), value(f));
        }
        if (!w.notes().isEmpty()) {
            out.println();
            for (String n : w.notes()) out.println("note: " + n);
        }
        out.println();
        out.println("(--explain shows each figure's formula and inputs; --json prints the figures as JSON)");
    }

    public static void explain(Working w, PrintStream out) {
        out.println(w.title() + ", with the working");
        for (Figure f : w.figures()) {
            if (f.formula().isEmpty()) {
                out.printf("%s = %s%s%n", f.key(), value(f), f.working().isEmpty() ? "" : "   [" + f.working() + "]");
            } else {
                out.printf("%s = %s%n    = %s%n    = %s%n", f.key(), f.formula(), f.working().isEmpty() ? "-" : f.working(), value(f));
            }
        }
        for (String n : w.notes()) out.println("note: " + n);
    }

    public static ObjectNode json(Working w) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        for (Figure f : w.figures()) {
            ObjectNode target = root;
            String key = f.key();
            int dot;
            while ((dot = key.indexOf('.')) > 0) {
                target = target.withObject("/" + key.substring(0, dot));
                key = key.substring(dot + 1);
            }
            switch (f.value()) {
                case null -> target.putNull(key);
                case Long l -> target.put(key, l);
                case Integer i -> target.put(key, i);
                case Double d -> target.put(key, d);
                case Boolean b -> target.put(key, b);
                default -> target.put(key, String.valueOf(f.value()));
            }
        }
        ArrayNode notes = root.putArray("notes");
        w.notes().forEach(notes::add);
        return root;
    }

    public static String jsonText(Working w) {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json(w));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String section(Figure f) {
        int dot = f.key().indexOf('.');
        return dot > 0 ? f.key().substring(0, dot) + ": " : "";
    }

    static String value(Figure f) {
        String v = f.display();
        if (f.value() instanceof Number n && f.unit().equals("B") && Math.abs(n.doubleValue()) >= 1024) return Fmt.bytes(n.doubleValue()) + " (" + Fmt.num(n.doubleValue()) + " B)";
        if (f.unit().equals("$")) return f.value() == null ? v : "$" + v;
        return f.unit().isEmpty() ? v : v + " " + f.unit();
    }
}
