package dev.genset.eval.task;

import java.util.ArrayList;
import java.util.List;

/** A CSV reader (RFC 4180: quoted fields may hold commas, quotes doubled, line breaks). */
public final class Csv {
    private Csv() {}

    /** The rows of {@code text}; a leading byte-order mark is skipped, blank lines are dropped. */
    public static List<List<String>> parse(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int i = text.startsWith("\uFEFF") ? 1 : 0;
        boolean quoted = false, fieldStarted = false;
        for (; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (quoted) {
                if (ch == '"') {
                    if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
                        field.append('"');
                        i++;
                    } else quoted = false;
                } else field.append(ch);
            } else if (ch == '"' && field.isEmpty()) {
                quoted = true;
                fieldStarted = true;
            } else if (ch == ',') {
                row.add(field.toString());
                field.setLength(0);
                fieldStarted = true;
            } else if (ch == '\n' || ch == '\r') {
                if (ch == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') i++;
                if (fieldStarted || !field.isEmpty() || !row.isEmpty()) {
                    row.add(field.toString());
                    rows.add(row);
                }
                row = new ArrayList<>();
                field.setLength(0);
                fieldStarted = false;
            } else {
                field.append(ch);
                fieldStarted = true;
            }
        }
        if (quoted) throw new IllegalArgumentException("CSV ends inside a quoted field");
        if (fieldStarted || !field.isEmpty() || !row.isEmpty()) {
            row.add(field.toString());
            rows.add(row);
        }
        return rows;
    }
}
