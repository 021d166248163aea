package dev.genset.plan;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An ordered record of a plan's figures (each with its formula and inputs) and its assumptions. */
public final class Working {
    private final String title;
    private final Map<String, Figure> figures = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    public Working(String title) { this.title = title; }

    public String title() { return title; }

    /** An input or a looked-up figure: no formula. */
    public Working input(String key, String label, Object value, String unit, String origin) {
        return put(new Figure(key, label, value, unit, "", origin));
    }

    /** A computed number. */
    public double calc(String key, String label, double value, String unit, String formula, String working) {
        put(new Figure(key, label, value, unit, formula, working));
        return value;
    }

    /** A computed whole count. */
    public long count(String key, String label, long value, String unit, String formula, String working) {
        put(new Figure(key, label, value, unit, formula, working));
        return value;
    }

    /** A computed word or a figure that may be unknown (null). */
    public Working fact(String key, String label, Object value, String unit, String formula, String working) {
        return put(new Figure(key, label, value, unit, formula, working));
    }

    public Working put(Figure f) {
        figures.put(f.key(), f);
        return this;
    }

    public Working note(String note) {
        notes.add(note);
        return this;
    }

    /** Appends another plan's figures (keys prefixed) and notes, e.g. the bill of materials inside a training plan. */
    public Working include(Working other, String prefix) {
        for (Figure f : other.figures())
            put(new Figure(prefix + f.key(), f.label(), f.value(), f.unit(), f.formula(), f.working()));
        for (String n : other.notes()) if (!notes.contains(n)) notes.add(n);
        return this;
    }

    public Figure get(String key) {
        Figure f = figures.get(key);
        if (f == null) throw new IllegalArgumentException("no figure " + key);
        return f;
    }

    public boolean has(String key) { return figures.containsKey(key); }

    public double number(String key) { return get(key).asDouble(); }

    public List<Figure> figures() { return List.copyOf(figures.values()); }

    public List<String> notes() { return Collections.unmodifiableList(notes); }
}
