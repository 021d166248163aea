package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** A server-sent-events response: {@code data: {...}} lines, flushed one by one. */
final class Sse implements AutoCloseable {
    private final ServerResponse res;
    private OutputStream out;

    Sse(ServerResponse res) {
        this.res = res;
    }

    /** Sends the headers (status 200, text/event-stream). */
    void open() throws IOException {
        res.status(200);
        res.header("Content-Type", "text/event-stream; charset=utf-8");
        res.header("Cache-Control", "no-cache");
        res.header("X-Accel-Buffering", "no");
        out = res.outputStream();
        out.flush();
    }

    void data(JsonNode json) throws IOException {
        write("data: " + Json.write(json) + "\n\n");
    }

    void done() throws IOException {
        write("data: [DONE]\n\n");
    }

    private void write(String s) throws IOException {
        try {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (RuntimeException e) { // the server wraps socket errors in unchecked exceptions
            throw new IOException("client went away", e);
        }
    }

    @Override
    public void close() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException | RuntimeException ignored) {
            // the client is gone
        }
    }
}
