package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.gateway.route.ResponseSink;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response: {@code data: {...}} lines, flushed one by one, straight to the
 * client or, for a routed request served locally, through the router's sink.
 */
final class Sse implements AutoCloseable {
    private static final String CONTENT_TYPE = "text/event-stream; charset=utf-8";

    private final ServerResponse res; // null: through the sink
    private final ResponseSink sink;
    private OutputStream out;
    private boolean opened, done, broken;

    Sse(ServerResponse res) {
        this.res = res;
        this.sink = null;
    }

    Sse(ResponseSink sink) {
        this.res = null;
        this.sink = sink;
    }

    /** Sends the headers (status 200, text/event-stream). */
    void open() throws IOException {
        opened = true;
        if (sink != null) {
            sink.start(200, CONTENT_TYPE);
            return;
        }
        res.status(200);
        res.header("Content-Type", CONTENT_TYPE);
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
        done = true;
    }

    /** Whether the stream began: from then on the client has (part of) this response. */
    boolean opened() {
        return opened;
    }

    /** Whether the stream reached [DONE]. */
    boolean finished() {
        return done;
    }

    /** Whether the client went away during the stream. */
    boolean broken() {
        return broken;
    }

    private void write(String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        try {
            if (sink != null) sink.chunk(b);
            else {
                out.write(b);
                out.flush();
            }
        } catch (IOException e) {
            broken = true;
            throw e;
        } catch (RuntimeException e) { // the server wraps socket errors in unchecked exceptions
            broken = true;
            throw new IOException("client went away", e);
        }
    }

    @Override
    public void close() {
        if (out == null) return; // a sink is closed by its owner
        try {
            out.close();
        } catch (IOException | RuntimeException ignored) {
            // the client is gone
        }
    }
}
