package dev.genset.server;

import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A streamed answer to the client, written as it is produced: each write is flushed, a failed
 * write means the client went away (booked as such, and raised so the producer stops), and
 * closing never fails.
 */
abstract class ClientStream implements AutoCloseable {
    private final ServerResponse res;
    private final Metering meter;
    private OutputStream out;

    ClientStream(ServerResponse res, Metering meter) {
        this.res = res;
        this.meter = meter;
    }

    /** Sends the status and headers; the body follows. */
    final void open(int status, String contentType, String... headers) {
        res.status(status);
        res.header("Content-Type", contentType);
        for (int i = 0; i + 1 < headers.length; i += 2) res.header(headers[i], headers[i + 1]);
        out = res.outputStream();
    }

    final boolean opened() {
        return out != null;
    }

    final void write(byte[] data) throws IOException {
        try {
            out.write(data);
            out.flush();
        } catch (IOException | RuntimeException e) {
            meter.clientGone();
            throw new IOException("client went away", e);
        }
    }

    @Override
    public final void close() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException | RuntimeException ignored) {
            // the client is gone
        }
    }
}
