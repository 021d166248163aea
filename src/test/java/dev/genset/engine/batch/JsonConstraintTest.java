package dev.genset.engine.batch;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonConstraintTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static boolean accepts(JsonSchema schema, String text) {
        JsonConstraint.Automaton a = new JsonConstraint.Automaton(schema);
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) if (!a.step(b & 0xFF)) return false;
        return true;
    }

    static boolean complete(JsonSchema schema, String text) {
        JsonConstraint.Automaton a = new JsonConstraint.Automaton(schema);
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) if (!a.step(b & 0xFF)) return false;
        return a.isComplete();
    }

    static JsonSchema schema(String json) throws Exception {
        return JsonSchema.compile(JSON.readTree(json));
    }

    @Test
    void anyObject() {
        JsonSchema o = JsonSchema.anyObject();
        assertThat(complete(o, "{}")).isTrue();
        assertThat(complete(o, "{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\n\"], \"b\": {\"c\": false}}")).isTrue();
        assertThat(complete(o, "{\n  \"a\": 1\n}")).isTrue();
        assertThat(accepts(o, "[1]")).isFalse();          // the top level is an object
        assertThat(accepts(o, " {}")).isFalse();          // no leading whitespace
        assertThat(accepts(o, "{\"a\": 01}")).isFalse();
        assertThat(accepts(o, "{\"a\" 1}")).isFalse();
        assertThat(accepts(o, "{\"a\": tru}")).isFalse();
        assertThat(accepts(o, "{\"a\": \"x\ny\"}")).isFalse(); // raw control character in a string
        assertThat(accepts(o, "{\"a\": 1,}")).isFalse();
        assertThat(accepts(o, "{}x")).isFalse();
        assertThat(accepts(o, "{  \"a\": 1}")).isFalse();   // at most one space
        assertThat(accepts(o, "{\"a\":\n\n1}")).isFalse();  // at most one newline in a row
        assertThat(complete(o, "{\"a\": 1")).isFalse();
    }

    @Test
    void schemaWithPropertiesTypesAndEnums() throws Exception {
        JsonSchema s = schema("""
                {"type":"object","properties":{
                   "name":{"type":"string"},
                   "age":{"type":"integer"},
                   "color":{"enum":["red","green"]},
                   "tags":{"type":"array","items":{"type":"string"},"maxItems":2},
                   "ok":{"type":"boolean"}},
                 "required":["name","age"],"additionalProperties":false}""");
        assertThat(complete(s, "{\"name\": \"Tom\", \"age\": 3}")).isTrue();
        assertThat(complete(s, "{\"age\": 3, \"name\": \"Tom\", \"color\": \"green\", \"tags\": [\"a\", \"b\"], \"ok\": true}")).isTrue();
        assertThat(accepts(s, "{\"name\": \"Tom\"}")).isFalse();               // age is required
        assertThat(accepts(s, "{\"nick\"")).isFalse();                          // not a property
        assertThat(accepts(s, "{\"name\": 5")).isFalse();                       // not a string
        assertThat(accepts(s, "{\"name\": \"a\", \"age\": 3.5")).isFalse();     // not an integer
        assertThat(accepts(s, "{\"name\": \"a\", \"name\"")).isFalse();         // no key twice
        assertThat(accepts(s, "{\"name\": \"a\", \"age\": 1, \"color\": \"blue\"")).isFalse();
        assertThat(accepts(s, "{\"name\": \"a\", \"age\": 1, \"tags\": [\"a\", \"b\", ")).isFalse();
        assertThat(accepts(s, "{\"name\": \"a\", \"age\": 1, \"ok\": null")).isFalse();
    }

    @Test
    void referencesAndTopLevelValues() throws Exception {
        JsonSchema s = schema("""
                {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v"]}},
                 "$ref":"#/$defs/node"}""");
        assertThat(complete(s, "{\"v\": 1, \"next\": {\"v\": 2}}")).isTrue();
        assertThat(complete(schema("{\"type\":\"string\"}"), "\"hi\"")).isTrue();
        assertThat(complete(schema("{\"type\":\"integer\"}"), "42")).isTrue();
        assertThat(complete(schema("{\"enum\":[1,12]}"), "1")).isTrue();
        assertThat(complete(schema("{\"type\":\"array\",\"items\":{\"enum\":[1,12]}}"), "[12, 1]")).isTrue();
        assertThatThrownBy(() -> schema("{\"type\":\"thing\"}")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("thing");
        assertThatThrownBy(() -> schema("{\"$ref\":\"#/$defs/missing\"}")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing");
    }
}
