package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.store.StoredResponses;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Responses kept for {@code previous_response_id} and {@code GET /v1/responses/{id}}: each with the
 * conversation it ended (as chat messages, without its instructions, which do not carry over) and
 * the scope of its owner (team, else API key; none without keys), outside which it does not exist
 * (not found, rather than forbidden: ids are not to be probed).
 */
sealed interface ResponseStore permits ResponseStore.InMemory, ResponseStore.InDatabase {
    /** A kept response: the object as sent, the messages a follow-up continues from, and its request's input items. */
    record Entry(String owner, ObjectNode response, ArrayNode conversation, ArrayNode inputItems) {}

    void put(String id, Entry e);

    /** The response of that id if the owner's, else null. */
    Entry get(String id, String owner);

    boolean delete(String id, String owner);

    /**
     * Without a database: in memory, the least recently used dropped beyond a number and a size
     * (as vLLM keeps them); a restart forgets them.
     */
    final class InMemory implements ResponseStore {
        private final int capacity;
        private final long maxChars;
        private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
        private final Map<String, Long> sizes = new HashMap<>();
        private long chars;

        /** At most {@code capacity} responses whose JSON (response and conversation) holds at most {@code maxChars} characters together. */
        InMemory(int capacity, long maxChars) {
            this.capacity = capacity;
            this.maxChars = maxChars;
        }

        @Override
        public synchronized void put(String id, Entry e) {
            long size = Json.write(e.response()).length() + Json.write(e.conversation()).length() + Json.write(e.inputItems()).length();
            if (size > maxChars) return;  // a conversation larger than the whole store is not kept
            remove(id);
            entries.put(id, e);
            sizes.put(id, size);
            chars += size;
            while (entries.size() > capacity || chars > maxChars) remove(entries.keySet().iterator().next());
        }

        @Override
        public synchronized Entry get(String id, String owner) {
            Entry e = entries.get(id);
            return e != null && Objects.equals(e.owner(), owner) ? e : null;
        }

        @Override
        public synchronized boolean delete(String id, String owner) {
            Entry e = entries.get(id);
            if (e == null || !Objects.equals(e.owner(), owner)) return false;
            remove(id);
            return true;
        }

        private void remove(String id) {
            if (entries.remove(id) != null) chars -= sizes.remove(id);
        }
    }

    /**
     * With the gateway's database: shared by every server on it and kept across restarts, for
     * {@code retention} (OpenAI keeps responses 30 days); older ones are deleted as new ones come.
     */
    final class InDatabase implements ResponseStore {
        private final StoredResponses table;
        private final Duration retention;
        private long lastPrune;

        InDatabase(StoredResponses table, Duration retention) {
            this.table = table;
            this.retention = retention;
        }

        @Override
        public void put(String id, Entry e) {
            long now = System.currentTimeMillis();
            table.put(id, e.owner(), now, new StoredResponses.Row(Json.write(e.response()), Json.write(e.conversation()), Json.write(e.inputItems())));
            if (now - lastPrune > 60_000) {  // at most once a minute, by whichever request comes
                lastPrune = now;
                table.deleteBefore(now - retention.toMillis());
            }
        }

        @Override
        public Entry get(String id, String owner) {
            StoredResponses.Row row = table.get(id, owner);
            if (row == null) return null;
            try {
                JsonNode response = Json.MAPPER.readTree(row.response()), conversation = Json.MAPPER.readTree(row.conversation()),
                        items = Json.MAPPER.readTree(row.inputItems());
                return new Entry(owner, (ObjectNode) response, (ArrayNode) conversation, (ArrayNode) items);
            } catch (IOException | ClassCastException e) {
                throw new UncheckedIOException("stored response " + id + " is not readable", e instanceof IOException io ? io : new IOException(e));
            }
        }

        @Override
        public boolean delete(String id, String owner) {
            return table.delete(id, owner);
        }
    }
}
