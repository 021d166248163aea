package dev.genset.engine.batch;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Top-level anyOf, and the schemas built in code for forced tool calls. */
class JsonAlternativesTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static boolean complete(JsonSchema schema, String text) {
        JsonConstraint c = JsonConstraint.of(schema);
        return c.feed(text.getBytes(StandardCharsets.UTF_8)) && c.isComplete();
    }

    static boolean accepts(JsonSchema schema, String text) {
        return JsonConstraint.of(schema).feed(text.getBytes(StandardCharsets.UTF_8));
    }

    /** {"name": <const>, "arguments": <schema>}, as a forced tool call is. */
    static JsonSchema call(String name, String parameters) throws Exception {
        var props = new LinkedHashMap<String, JsonSchema>();
        props.put("name", JsonSchema.constant(JSON.getNodeFactory().textNode(name)));
        props.put("arguments", JsonSchema.compile(JSON.readTree(parameters)));
        return JsonSchema.objectOf(props);
    }

    @Test
    void eachAlternativeTiesTheNameToItsArguments() throws Exception {
        JsonSchema s = JsonSchema.anyOf(List.of(
                call("weather", "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}"),
                call("add", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]}")));
        assertThat(complete(s, "{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}")).isTrue();
        assertThat(complete(s, "{\"arguments\": {\"a\": 1, \"b\": 2}, \"name\": \"add\"}")).isTrue(); // any key order
        assertThat(accepts(s, "{\"name\": \"weather\", \"arguments\": {\"a\"")).isFalse();           // add's argument under weather
        assertThat(accepts(s, "{\"name\": \"add\", \"arguments\": {\"a\": \"x\"")).isFalse();          // wrong type
        assertThat(complete(s, "{\"name\": \"add\", \"arguments\": {\"a\": 1}}")).isFalse();         // b is required
        assertThat(accepts(s, "{\"name\": \"sub\"")).isFalse();
        assertThat(complete(s, "{\"name\": \"weather\"}")).isFalse();                                // arguments is required
        assertThat(accepts(s, "{\"name\": \"weather\", \"arguments\": {\"city\": \"x\"}, \"extra\"")).isFalse();
    }

    @Test
    void compiledAnyOfAtTheTop() throws Exception {
        JsonSchema s = JsonSchema.compile(JSON.readTree("""
                {"anyOf": [{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                           {"type": "array", "items": {"type": "boolean"}}]}"""));
        assertThat(complete(s, "{\"x\": 3}")).isTrue();
        assertThat(complete(s, "[true, false]")).isTrue();
        assertThat(accepts(s, "[1")).isFalse();
        assertThat(accepts(s, "\"s\"")).isFalse();
        assertThatThrownBy(() -> JsonSchema.compile(JSON.readTree("{\"anyOf\": []}"))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("anyOf");
    }

    @Test
    void aPrefixComesFirst() throws Exception {
        JsonSchema s = call("only", "{\"type\":\"object\",\"properties\":{}}");
        String call = "{\"name\": \"only\", \"arguments\": {}}";
        JsonConstraint c = JsonConstraint.of(s, "<tool_call>\n");
        assertThat(c.feed("<tool_".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.isComplete()).isFalse();
        assertThat(c.feed(("call>\n" + call.substring(0, 5)).getBytes(StandardCharsets.UTF_8))).isTrue(); // across the prefix's end
        assertThat(c.feed(call.substring(5).getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.isComplete()).isTrue();
        assertThat(JsonConstraint.of(s, "<tool_call>\n").feed(call.getBytes(StandardCharsets.UTF_8))).isFalse(); // the prefix is required
        assertThat(JsonConstraint.of(s, "<tool_call>\n").feed("<tool_call> {".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @Test
    void aLazyConstraintWakesAtItsTriggerAndSleepsAfterTheJson() throws Exception {
        JsonSchema s = call("only", "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}");
        var lazy = new JsonConstraint.Lazy(null, s, "<tool_call>\n".getBytes(StandardCharsets.UTF_8), false);
        assertThat(lazy.feed("Sure, <tool is not <tool_call> yet".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(lazy.active()).isFalse();
        assertThat(lazy.feed("<<tool_call>\n".getBytes(StandardCharsets.UTF_8))).isTrue(); // a false start, then the trigger
        assertThat(lazy.active()).isTrue();
        assertThat(lazy.feed("{\"name\": \"only\", \"arguments\": {\"n\": 4}}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(lazy.feed("\n</tool_call>\nand more free text {".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(lazy.active()).isFalse();
        assertThat(lazy.feed("<tool_call>\n{\"name\": \"other\"".getBytes(StandardCharsets.UTF_8))).isFalse(); // a second call breaks the schema: given up
        assertThat(lazy.active()).isFalse();
    }

    @Test
    void anOpeningTriggerCountsOnlyAtTheStartAndIsPartOfTheJson() throws Exception {
        JsonSchema s = call("only", "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}");
        byte[] trigger = "{\"name\"".getBytes(StandardCharsets.UTF_8);
        var call = new JsonConstraint.Lazy(null, s, trigger, true);
        assertThat(call.feed(" \n{\"na".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(call.active()).isFalse();
        assertThat(call.feed("me\"".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(call.active()).isTrue(); // from here the call must be valid
        assertThat(call.feed(": \"only\", \"arguments\": {\"n\": 1}}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(call.feed(" and then {\"name\": \"x\"}".getBytes(StandardCharsets.UTF_8))).isTrue(); // once only
        assertThat(call.active()).isFalse();

        var prose = new JsonConstraint.Lazy(null, s, trigger, true);
        assertThat(prose.feed("Hello {\"name\": \"x\"".getBytes(StandardCharsets.UTF_8))).isTrue(); // not at the start: never
        assertThat(prose.active()).isFalse();

        var wrong = new JsonConstraint.Lazy(null, s, trigger, true);
        assertThat(wrong.feed("{\"name\": \"nope\"".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @Test
    void aConstantAndAnObjectOfRequiredProperties() throws Exception {
        JsonSchema s = call("only", "{\"type\":\"object\"}");
        assertThat(complete(s, "{\"name\": \"only\", \"arguments\": {\"anything\": [1, {}]}}")).isTrue();
        assertThat(accepts(s, "{\"name\": \"onl\"}")).isFalse();
        assertThat(accepts(s, "{\"name\": \"only\", \"arguments\": 5")).isFalse();
    }
}
