package dev.genset.gateway.route;

import java.io.IOException;

/** Where a streamed response goes, chunk by chunk, as it arrives. */
public interface ResponseSink {
    /** Called once, before the first chunk. */
    void start(int status, String contentType) throws IOException;

    /** One or more whole server-sent events, as received. */
    void chunk(byte[] data) throws IOException;
}
