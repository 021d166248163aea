package dev.genset.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Responses kept for {@code previous_response_id} and {@code GET /v1/responses/{id}}: each with the
 * conversation it ended (as chat messages, without its instructions, which do not carry over) and
 * the scope of its owner (team, else API key; none without keys), outside which it does not exist.
 * In memory, the least recently used dropped beyond a number and a size, as vLLM keeps them: a
 * restart forgets them.
 */
final class ResponseStore {
    /** A kept response: the object as sent, and the messages a follow-up continues from. */
    record Entry(String owner, ObjectNode response, ArrayNode conversation) {}

    private final int capacity;
    private final long maxChars;
    private final Map<String, Entry> entries;
    private final Map<String, Long> sizes = new java.util.HashMap<>();
    private long chars;

    /** At most {@code capacity} responses whose JSON (response and conversation) holds at most {@code maxChars} characters together. */
    ResponseStore(int capacity, long maxChars) {
        this.capacity = capacity;
        this.maxChars = maxChars;
        this.entries = new LinkedHashMap<>(16, 0.75f, true);
    }

    synchronized void put(String id, Entry e) {
        long size = Json.write(e.response()).length() + Json.write(e.conversation()).length();
        if (size > maxChars) return;  // a conversation larger than the whole store is not kept
        remove(id);
        entries.put(id, e);
        sizes.put(id, size);
        chars += size;
        while (entries.size() > capacity || chars > maxChars) remove(entries.keySet().iterator().next());
    }

    private void remove(String id) {
        if (entries.remove(id) != null) chars -= sizes.remove(id);
    }

    /** The response of that id if the owner's, else null (another's is not found, not forbidden: ids are not to be probed). */
    synchronized Entry get(String id, String owner) {
        Entry e = entries.get(id);
        return e != null && Objects.equals(e.owner(), owner) ? e : null;
    }

    synchronized boolean delete(String id, String owner) {
        Entry e = entries.get(id);
        if (e == null || !Objects.equals(e.owner(), owner)) return false;
        remove(id);
        return true;
    }
}
