package dev.genset.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ResponseStoreTest {
    static ResponseStore.Entry entry(String owner, String text) {
        ObjectNode response = Json.MAPPER.createObjectNode().put("text", text);
        ArrayNode conversation = Json.MAPPER.createArrayNode();
        conversation.addObject().put("role", "user").put("content", text);
        return new ResponseStore.Entry(owner, response, conversation, Json.MAPPER.createArrayNode());
    }

    @Test
    void keepsTheMostRecentlyUsedWithinItsCount() {
        ResponseStore store = new ResponseStore.InMemory(2, 1 << 20);
        store.put("a", entry(null, "a"));
        store.put("b", entry(null, "b"));
        assertThat(store.get("a", null)).isNotNull();  // b is now the least recently used
        store.put("c", entry(null, "c"));
        assertThat(store.get("b", null)).isNull();
        assertThat(store.get("a", null)).isNotNull();
        assertThat(store.get("c", null)).isNotNull();
    }

    @Test
    void keepsWithinItsSize() {
        ResponseStore store = new ResponseStore.InMemory(100, 200);
        store.put("a", entry(null, "x".repeat(40)));
        store.put("b", entry(null, "y".repeat(40)));
        assertThat(store.get("a", null)).as("two no longer fit").isNull();
        assertThat(store.get("b", null)).isNotNull();
        store.put("huge", entry(null, "z".repeat(500)));
        assertThat(store.get("huge", null)).as("larger than the whole store").isNull();
        assertThat(store.get("b", null)).as("not pushed out by what was not kept").isNotNull();
    }

    @Test
    void anotherOwnerFindsNothing() {
        ResponseStore store = new ResponseStore.InMemory(10, 1 << 20);
        store.put("a", entry("key 1", "a"));
        assertThat(store.get("a", "key 2")).isNull();
        assertThat(store.get("a", null)).isNull();
        assertThat(store.delete("a", "key 2")).isFalse();
        assertThat(store.get("a", "key 1")).isNotNull();
        assertThat(store.delete("a", "key 1")).isTrue();
        assertThat(store.get("a", "key 1")).isNull();
    }
}
