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

    /**
     * Masks kept by place agree with masks made afresh: along a JSON text fed token by token (LLaMA's
     * vocabulary), each step's mask from the constraint that has seen every earlier step equals the
     * mask of a new constraint fed the same text (whose cache is empty).
     */
    @Test
    void keptMasksEqualFreshOnes() throws Exception {
        dev.genset.engine.tokenizer.Tokenizer tok = dev.genset.testing.TestFiles.llamaTokenizer();
        JsonSchema s = schema("{\"type\":\"object\",\"properties\":{\"story\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"},"
                + "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"bb\"]}}},\"required\":[\"story\",\"n\",\"tags\"]}");
        var factory = JsonConstraint.factory(tok, s);
        var kept = (JsonConstraint) factory.get();
        int n = tok.vocabSize(), steps = 0;
        byte[] target = "{\"story\": \"Once upon a time there was a cat\", \"n\": 42, \"tags\": [\"a\", \"bb\"]}".getBytes(StandardCharsets.UTF_8);
        int at = 0;
        while (at < target.length) {
            int t = longestToken(tok, target, at);
            float[] a = new float[n], b = new float[n];
            kept.mask(a, n);
            var fresh = (JsonConstraint) factory.get();
            assertThat(fresh.feed(java.util.Arrays.copyOf(target, at))).isTrue();
            fresh.mask(b, n);
            assertThat(a).as("after %s", new String(target, 0, at, StandardCharsets.UTF_8)).isEqualTo(b);
            assertThat(a[t]).isZero();
            kept.accept(t);
            at += tok.tokenBytes(t).length;
            steps++;
        }
        assertThat(kept.isComplete()).isTrue();
        assertThat(steps).as("steps checked").isGreaterThan(10);
    }

    /** The longest token whose bytes come next in {@code text} at {@code at} (a tokenization without SentencePiece's leading space). */
    static int longestToken(dev.genset.engine.tokenizer.Tokenizer tok, byte[] text, int at) {
        int best = -1, bestLength = 0;
        for (int id = 0; id < tok.vocabSize(); id++) {
            byte[] p = tok.tokenBytes(id);
            if (p.length <= bestLength || at + p.length > text.length || tok.isEndOfGeneration(id)) continue;
            if (java.util.Arrays.equals(p, 0, p.length, text, at, at + p.length)) {
                best = id;
                bestLength = p.length;
            }
        }
        return best;
    }

    @Test
    void stringLengthsCountCharacters() throws Exception {
        JsonSchema s = schema("{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":4},"
                + "\"note\":{\"type\":\"string\"}},\"required\":[\"code\"]}");
        assertThat(complete(s, "{\"code\": \"ab\"}")).isTrue();
        assertThat(complete(s, "{\"code\": \"abcd\"}")).isTrue();
        assertThat(accepts(s, "{\"code\": \"a\"")).as("too short to close").isFalse();
        assertThat(accepts(s, "{\"code\": \"abcde")).as("too long").isFalse();
        assertThat(complete(s, "{\"code\": \"éèà\"}")).as("characters, not bytes").isTrue();
        assertThat(complete(s, "{\"code\": \"\\n\\u00e9\"}")).as("an escape is one character").isTrue();
        assertThat(complete(s, "{\"code\": \"ab\", \"note\": \"a note longer than four\"}")).as("other strings are free").isTrue();
        assertThatThrownBy(() -> schema("{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}")).hasMessageContaining("minLength > maxLength");
    }

    @Test
    void stringPatternsAreFollowed() throws Exception {
        JsonSchema s = schema("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}-\\\\d{2}$\"},"
                + "\"pet\":{\"type\":\"string\",\"pattern\":\"cat\"},\"sym\":{\"type\":\"string\",\"pattern\":\"^é+\\\\n?$\"}},\"required\":[\"id\"]}");
        assertThat(complete(s, "{\"id\": \"ABC-12\"}")).isTrue();
        assertThat(accepts(s, "{\"id\": \"AB-")).isFalse();
        assertThat(accepts(s, "{\"id\": \"ABC-123")).isFalse();
        assertThat(accepts(s, "{\"id\": \"ABC-1\"")).as("not the whole pattern yet").isFalse();
        // unanchored: found anywhere in the string
        assertThat(complete(s, "{\"id\": \"ABC-12\", \"pet\": \"a cat!\"}")).isTrue();
        assertThat(accepts(s, "{\"id\": \"ABC-12\", \"pet\": \"dog")).as("cat may still come").isTrue();
        assertThat(accepts(s, "{\"id\": \"ABC-12\", \"pet\": \"dog\"")).isFalse();
        // characters from raw UTF-8 and from escapes alike
        assertThat(complete(s, "{\"id\": \"ABC-12\", \"sym\": \"éé\"}")).isTrue();
        assertThat(complete(s, "{\"id\": \"ABC-12\", \"sym\": \"\\u00e9\\n\"}")).isTrue();
        assertThat(accepts(s, "{\"id\": \"ABC-12\", \"sym\": \"è")).as("a first byte é and è share, but è is refused").isFalse();
        assertThatThrownBy(() -> schema("{\"type\":\"string\",\"pattern\":\"(?=a)\"}")).hasMessageContaining("pattern").hasMessageContaining("lookarounds");
    }

    @Test
    void integerBoundsAreKeptDigitByDigit() throws Exception {
        JsonSchema s = schema("{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\",\"minimum\":18,\"maximum\":120},"
                + "\"delta\":{\"type\":\"integer\",\"exclusiveMinimum\":-10,\"maximum\":-2}},\"required\":[\"age\"]}");
        assertThat(complete(s, "{\"age\": 18}")).isTrue();
        assertThat(complete(s, "{\"age\": 120}")).isTrue();
        assertThat(accepts(s, "{\"age\": 17}")).as("17 ends below the minimum").isFalse();
        assertThat(accepts(s, "{\"age\": 1")).as("1 may still become 18 to 19 or 100 to 120").isTrue();
        assertThat(accepts(s, "{\"age\": 13")).as("130 and more are too many").isFalse();
        assertThat(accepts(s, "{\"age\": 0")).isFalse();
        assertThat(accepts(s, "{\"age\": -")).isFalse();
        assertThat(accepts(s, "{\"age\": 1201")).isFalse();
        assertThat(complete(s, "{\"age\": 30, \"delta\": -9}")).isTrue();
        assertThat(accepts(s, "{\"age\": 30, \"delta\": -10")).as("exclusive").isFalse();
        assertThat(accepts(s, "{\"age\": 30, \"delta\": -1}")).isFalse();
        assertThat(accepts(s, "{\"age\": 30, \"delta\": 5")).isFalse();
        assertThatThrownBy(() -> schema("{\"type\":\"integer\",\"minimum\":5,\"maximum\":4.5}")).hasMessageContaining("allows no integer");
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
