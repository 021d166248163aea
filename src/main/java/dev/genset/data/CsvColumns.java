package dev.genset.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A CSV file's columns: names from the header, and each column's type inferred from its cells.
 * An empty cell is null; a column whose cells are all integers is int (a leading zero, as in
 * "007", keeps a cell a string), integers and decimals make float, true/false make bool, and
 * anything else makes the whole column string.
 *
 * @param types    per column: "int", "float", "bool", "string", or null if every cell is empty
 * @param nullable per column: some cell is empty
 */
record CsvColumns(List<String> names, String[] types, boolean[] nullable, long rows) {
    private static final Pattern INT = Pattern.compile("-?(0|[1-9]\\d{0,17})");
    private static final Pattern FLOAT = Pattern.compile("-?(\\d+\\.\\d*|\\.\\d+)([eE][-+]?\\d+)?|-?\\d+[eE][-+]?\\d+");

    static String cellType(String cell) {
        if (cell.isEmpty()) return "null";
        if (INT.matcher(cell).matches()) return "int";
        if (FLOAT.matcher(cell).matches()) return "float";
        if (cell.equalsIgnoreCase("true") || cell.equalsIgnoreCase("false")) return "bool";
        return "string";
    }

    static String merge(String column, String cell) {
        if (cell.equals("null")) return column;
        if (column == null || column.equals(cell)) return cell;
        if ((column.equals("int") && cell.equals("float")) || (column.equals("float") && cell.equals("int"))) return "float";
        return "string";
    }

    static List<String> header(Csv csv, String label) throws IOException {
        List<String> h = csv.next();
        if (h == null) throw new IOException(label + " is empty: a CSV dataset needs a header line");
        List<String> names = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < h.size(); i++) {
            String n = h.get(i).trim();
            if (n.isEmpty()) n = "column_" + (i + 1);
            if (!seen.add(n)) throw new IOException(label + ": the header names column '" + n + "' twice");
            names.add(n);
        }
        return names;
    }

    static CsvColumns infer(Path file, String label) throws IOException {
        try (Csv csv = new Csv(Files.newBufferedReader(file, StandardCharsets.UTF_8))) {
            List<String> names = header(csv, label);
            String[] types = new String[names.size()];
            boolean[] nullable = new boolean[names.size()];
            long rows = 0;
            for (List<String> r; (r = csv.next()) != null; ) {
                check(r, names, label, csv.line() - 1);
                for (int i = 0; i < r.size(); i++) {
                    String t = cellType(r.get(i));
                    if (t.equals("null")) nullable[i] = true;
                    types[i] = merge(types[i], t);
                }
                rows++;
            }
            return new CsvColumns(names, types, nullable, rows);
        }
    }

    private static void check(List<String> row, List<String> names, String label, long line) throws IOException {
        if (row.size() != names.size())
            throw new IOException(label + " line " + line + ": " + row.size() + " fields, the header has " + names.size());
    }

    static Object convert(String cell, String type) {
        if (cell.isEmpty()) return null;
        if (type == null) return null;
        return switch (type) {
            case "int" -> Long.parseLong(cell);
            case "float" -> Double.parseDouble(cell);
            case "bool" -> Boolean.parseBoolean(cell.toLowerCase());
            default -> cell;
        };
    }

    /** The rows as maps keyed by the header, values converted to their column's type in {@code schema}. */
    static Stream<Map<String, Object>> read(Path file, Schema schema, String label) throws IOException {
        Csv csv = new Csv(Files.newBufferedReader(file, StandardCharsets.UTF_8));
        List<String> names;
        try {
            names = header(csv, label);
        } catch (IOException e) {
            csv.close();
            throw e;
        }
        String[] types = new String[names.size()];
        for (int i = 0; i < names.size(); i++) {
            Schema.Field f = schema == null ? null : schema.field(names.get(i));
            types[i] = f == null ? "string" : f.types().stream().filter(t -> !t.equals("null")).findFirst().orElse(null);
        }
        Iterator<Map<String, Object>> it = new Iterator<>() {
            Map<String, Object> next;

            @Override
            public boolean hasNext() {
                if (next != null) return true;
                try {
                    List<String> r = csv.next();
                    if (r == null) return false;
                    check(r, names, label, csv.line() - 1);
                    Map<String, Object> m = new LinkedHashMap<>();
                    for (int i = 0; i < r.size(); i++) m.put(names.get(i), convert(r.get(i), types[i]));
                    next = m;
                    return true;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public Map<String, Object> next() {
                if (!hasNext()) throw new NoSuchElementException();
                Map<String, Object> n = next;
                next = null;
                return n;
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED), false).onClose(() -> {
            try {
                csv.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
