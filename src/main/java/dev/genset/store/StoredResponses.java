package dev.genset.store;

/**
 * Responses API responses in the store, each with the conversation it ended (both as JSON text)
 * and its owner's scope, so that any server on the same database continues a conversation that
 * another one answered, and a restart forgets none.
 */
public final class StoredResponses {
    /** A kept response's JSON and its conversation's. */
    public record Row(String response, String conversation, String inputItems) {}

    private final Store store;

    public StoredResponses(Store store) {
        this.store = store;
    }

    /** Keeps a response ({@code owner} null: no keys); an id kept before is replaced. */
    public void put(String id, String owner, long createdAtMillis, Row row) {
        store.tx(c -> {
            Store.update(c, "DELETE FROM responses WHERE id = ?", id);
            Store.update(c, "INSERT INTO responses (id, owner, created_at, response, conversation, input_items) VALUES (?, ?, ?, ?, ?, ?)",
                    id, owner(owner), createdAtMillis, row.response(), row.conversation(), row.inputItems());
            return null;
        });
    }

    /** The owner's response of that id, or null (another's is not found). */
    public Row get(String id, String owner) {
        return store.call(c -> Store.queryOne(c, "SELECT response, conversation, input_items FROM responses WHERE id = ? AND owner = ?",
                rs -> new Row(rs.getString(1), rs.getString(2), rs.getString(3)), id, owner(owner)));
    }

    /** Deletes the owner's response of that id; whether there was one. */
    public boolean delete(String id, String owner) {
        return store.call(c -> Store.update(c, "DELETE FROM responses WHERE id = ? AND owner = ?", id, owner(owner))) > 0;
    }

    /** Deletes responses kept before {@code cutoffMillis}; how many. */
    public int deleteBefore(long cutoffMillis) {
        return store.call(c -> Store.update(c, "DELETE FROM responses WHERE created_at < ?", cutoffMillis));
    }

    private static String owner(String owner) {
        return owner == null ? "" : owner;
    }
}
