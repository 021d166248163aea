package dev.genset.server;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The payloads of the {@code data:} lines of server-sent events as they arrive, chunk by chunk (a chunk may end mid-line). */
final class SseData {
    private final StringBuilder pending = new StringBuilder();

    /** The payloads (trimmed, {@code [DONE]} included) of the lines this chunk completes. */
    List<String> feed(byte[] chunk) {
        pending.append(new String(chunk, StandardCharsets.UTF_8));
        List<String> payloads = new ArrayList<>(2);
        for (int end; (end = pending.indexOf("\n")) >= 0; ) {
            String line = pending.substring(0, end).trim();
            pending.delete(0, end + 1);
            if (line.startsWith("data:")) payloads.add(line.substring(5).trim());
        }
        return payloads;
    }
}
