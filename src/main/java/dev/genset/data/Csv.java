package dev.genset.data;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

/**
 * An RFC 4180 CSV reader: comma-separated fields, double-quoted fields that may hold commas,
 * quotes ("" inside quotes) and line breaks, LF or CRLF line ends, an optional UTF-8 BOM.
 */
final class Csv implements AutoCloseable {
    private final Reader in;
    private int peeked = -2;
    private long line = 1;
    private boolean started;

    Csv(Reader in) {
        this.in = in;
    }

    long line() {
        return line;
    }

    private int read() throws IOException {
        if (peeked != -2) {
            int c = peeked;
            peeked = -2;
            return c;
        }
        int c = in.read();
        if (!started) {
            started = true;
            if (c == '\uFEFF') c = in.read();
        }
        return c;
    }

    private int peek() throws IOException {
        if (peeked == -2) peeked = read();
        return peeked;
    }

    /** The next record's fields, or null at the end of the input. Blank lines are skipped. */
    List<String> next() throws IOException {
        while (true) {
            int c = peek();
            if (c == -1) return null;
            if (c == '\n') { read(); line++; continue; }
            if (c == '\r') { read(); continue; }
            break;
        }
        long startLine = line;
        List<String> fields = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        while (true) {
            int c = read();
            if (c == '"' && f.isEmpty()) {
                while (true) { // quoted field
                    c = read();
                    if (c == -1) throw new IOException("line " + startLine + ": a quoted field is not closed");
                    if (c == '"') {
                        if (peek() == '"') { read(); f.append('"'); continue; }
                        break;
                    }
                    if (c == '\n') line++;
                    f.append((char) c);
                }
                c = read();
                if (c != ',' && c != '\n' && c != '\r' && c != -1)
                    throw new IOException("line " + line + ": text after a closing quote");
            }
            if (c == ',') {
                fields.add(f.toString());
                f.setLength(0);
            } else if (c == '\n' || c == '\r' || c == -1) {
                if (c == '\r' && peek() == '\n') read();
                if (c != -1) line++;
                fields.add(f.toString());
                return fields;
            } else {
                f.append((char) c);
            }
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
