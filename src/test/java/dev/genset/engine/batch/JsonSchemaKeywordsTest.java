package dev.genset.engine.batch;

import dev.genset.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The keywords schemas written by Pydantic, Zod and hand lean on: alternatives at any depth
 * (optional fields are {@code anyOf} a type and null), {@code allOf}, tuples, bounded numbers and
 * string formats, each followed by the constraint as the value is written.
 */
class JsonSchemaKeywordsTest {
    static JsonSchema schema(String json) throws Exception {
        return JsonConstraintTest.schema(json);
    }

    /** Through the whole constraint (its branches), as {@link JsonAlternativesTest} feeds it. */
    static boolean accepts(JsonSchema schema, String text) {
        return JsonAlternativesTest.accepts(schema, text);
    }

    static boolean complete(JsonSchema schema, String text) {
        return JsonAlternativesTest.complete(schema, text);
    }

    /** A Pydantic model with optional fields, as {@code model_json_schema()} writes it. */
    static final String PERSON = """
            {"$defs": {"Pet": {"properties": {"kind": {"enum": ["cat", "dog"], "title": "Kind", "type": "string"},
                                               "age": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "default": null}},
                               "required": ["kind"], "title": "Pet", "type": "object"}},
             "properties": {"name": {"title": "Name", "type": "string"},
                            "age": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 150}, {"type": "null"}], "title": "Age"},
                            "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}], "default": null},
                            "tags": {"items": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer"}]}, "type": "array"}},
             "required": ["name", "age"], "title": "Person", "type": "object"}""";

    @Test
    void alternativesAtAnyDepth() throws Exception {
        JsonSchema s = schema(PERSON);
        assertThat(complete(s, "{\"name\": \"Ann\", \"age\": null}")).isTrue();
        assertThat(complete(s, "{\"name\": \"Ann\", \"age\": 41, \"pet\": {\"kind\": \"cat\", \"age\": 3}}")).isTrue();
        assertThat(complete(s, "{\"name\": \"Ann\", \"age\": 41, \"pet\": null, \"tags\": [\"abc\", 7, \"x\"]}")).isTrue();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": \"")).as("neither an integer nor null").isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": true")).isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": -1")).as("the integer alternative's minimum").isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": 151")).as("and its maximum").isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": 1, \"pet\": {\"kind\": \"cow\"")).as("through a reference").isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": 1, \"pet\": {\"kind\": \"cat\", \"age\": 1.5")).isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": 1, \"tags\": [\"abcd")).as("a string of at most 3").isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": 1, \"tags\": [null")).isFalse();
        assertThat(accepts(s, "{\"name\": \"Ann\", \"age\": nul")).isTrue();
        assertThat(complete(s, "{\"name\": \"Ann\"}")).as("age is required, even if it may be null").isFalse();
    }

    @Test
    void branchesMergeOnceTheValueThatSplitThemEnds() throws Exception {
        JsonSchema s = schema("""
                {"type": "array", "items": {"anyOf": [
                    {"type": "object", "properties": {"meow": {"type": "boolean"}}, "required": ["meow"]},
                    {"type": "object", "properties": {"bark": {"type": "integer"}}, "required": ["bark"]},
                    {"type": "string"}]}}""");
        JsonConstraint c = JsonConstraint.of(s);
        assertThat(c.feed("[".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.branchCount()).as("one branch per alternative of the first item").isEqualTo(3);
        assertThat(c.feed("{".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.branchCount()).as("the string is ruled out").isEqualTo(2);
        assertThat(c.feed("\"meow\": true}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.branchCount()).as("merged again").isEqualTo(1);
        assertThat(c.feed(", {\"bark\": 2}, \"x\"]".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.isComplete()).isTrue();
        assertThat(c.branchCount()).isEqualTo(1);
        assertThat(accepts(s, "[{\"meow\": 3")).isFalse();
        assertThat(accepts(s, "[{\"bark\": 1, \"meow\"")).isFalse();
    }

    @Test
    void alternativesThatMultiplyWithoutEndAreRefused() throws Exception {
        StringBuilder[] strings = {new StringBuilder(), new StringBuilder()};
        for (int i = 1; i <= 80; i++) strings[i % 2].append(i > 2 ? "," : "").append("{\"type\":\"string\",\"maxLength\":").append(i).append('}');
        JsonSchema wide = schema("{\"anyOf\":[{\"anyOf\":[" + strings[0] + "]},{\"anyOf\":[" + strings[1] + "]}]}");
        assertThatThrownBy(() -> JsonConstraint.of(wide)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too ambiguous");
        assertThatThrownBy(() -> schema("{\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("refer only to each other");
        assertThatThrownBy(() -> schema("{\"oneOf\": {}}")).hasMessageContaining("oneOf");
    }

    @Test
    void allOfMergesObjectsAndTakesOneSchema() throws Exception {
        JsonSchema s = schema("""
                {"$defs": {"Base": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
                 "allOf": [{"$ref": "#/$defs/Base"}, {"properties": {"label": {"type": "string"}}, "required": ["label"]}],
                 "description": "an item"}""");
        assertThat(complete(s, "{\"id\": 1, \"label\": \"a\"}")).isTrue();
        assertThat(complete(s, "{\"label\": \"a\"}")).as("Base's required id").isFalse();
        assertThat(complete(s, "{\"id\": 1}")).isFalse();
        assertThat(accepts(s, "{\"id\": \"1\"")).isFalse();
        assertThat(accepts(s, "{\"other\"")).isFalse();
        // one part with a description beside it, as Pydantic v1 wrote references
        JsonSchema one = schema("{\"$defs\": {\"C\": {\"enum\": [\"red\", \"blue\"]}}, \"type\": \"object\","
                + " \"properties\": {\"c\": {\"allOf\": [{\"$ref\": \"#/$defs/C\"}], \"description\": \"a color\"}}}");
        assertThat(complete(one, "{\"c\": \"blue\"}")).isTrue();
        assertThat(accepts(one, "{\"c\": \"green\"")).isFalse();
        assertThatThrownBy(() -> schema("{\"allOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}")).hasMessageContaining("combines the types");
        assertThatThrownBy(() -> schema("{\"allOf\": [{\"anyOf\": [{\"type\": \"string\"}]}, {\"type\": \"string\"}]}")).hasMessageContaining("anyOf");
    }

    @Test
    void tuples() throws Exception {
        JsonSchema s = schema("{\"type\": \"array\", \"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"items\": false}");
        assertThat(complete(s, "[\"a\", 1]")).isTrue();
        assertThat(complete(s, "[\"a\"]")).as("fewer items are valid JSON Schema").isTrue();
        assertThat(accepts(s, "[1")).isFalse();
        assertThat(accepts(s, "[\"a\", \"b\"")).isFalse();
        assertThat(accepts(s, "[\"a\", 1,")).as("no third item").isFalse();
        JsonSchema open = schema("{\"type\": \"array\", \"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"boolean\"}}");
        assertThat(complete(open, "[\"a\", true, false]")).isTrue();
        assertThat(accepts(open, "[\"a\", \"b\"")).isFalse();
        JsonSchema older = schema("{\"type\": \"array\", \"items\": [{\"type\": \"integer\"}, {\"type\": \"null\"}], \"additionalItems\": false}");
        assertThat(complete(older, "[1, null]")).isTrue();
        assertThat(accepts(older, "[1, 2")).isFalse();
        assertThat(accepts(older, "[1, null, ")).isFalse();
    }

    @Test
    void numberBoundsAreKeptDigitByDigit() throws Exception {
        JsonSchema s = schema("{\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"number\", \"minimum\": -1.5, \"exclusiveMaximum\": 2.25},"
                + " \"p\": {\"type\": [\"number\", \"null\"], \"exclusiveMinimum\": 0, \"maximum\": 1}}}");
        assertThat(complete(s, "{\"x\": 2.2}")).isTrue();
        assertThat(complete(s, "{\"x\": 2.249}")).isTrue();
        assertThat(accepts(s, "{\"x\": 2.25")).as("2.25 and all it begins are at or above the exclusive maximum").isFalse();
        assertThat(accepts(s, "{\"x\": 2.3")).isFalse();
        assertThat(accepts(s, "{\"x\": 3")).isFalse();
        assertThat(accepts(s, "{\"x\": 2")).isTrue();
        assertThat(accepts(s, "{\"x\": 20")).isFalse();
        assertThat(complete(s, "{\"x\": -1.5}")).isTrue();
        assertThat(complete(s, "{\"x\": -1.50}")).isTrue();
        assertThat(accepts(s, "{\"x\": -1.51")).isFalse();
        assertThat(accepts(s, "{\"x\": -2")).isFalse();
        assertThat(complete(s, "{\"x\": 0}")).isTrue();
        assertThat(accepts(s, "{\"x\": 1e")).as("bounded numbers are written without an exponent").isFalse();
        assertThat(complete(s, "{\"x\": 1.}")).isFalse();
        assertThat(complete(s, "{\"p\": 1}")).isTrue();
        assertThat(complete(s, "{\"p\": 0.001}")).isTrue();
        assertThat(complete(s, "{\"p\": null}")).isTrue();
        assertThat(accepts(s, "{\"p\": 0}")).as("exclusive minimum 0").isFalse();
        assertThat(accepts(s, "{\"p\": 0.0")).as("0.0 may still become 0.01").isTrue();
        assertThat(accepts(s, "{\"p\": 1.1")).isFalse();
        assertThat(accepts(s, "{\"p\": -")).isFalse();
        JsonSchema unbounded = schema("{\"type\": \"object\", \"properties\": {\"y\": {\"type\": \"number\"}}}");
        assertThat(complete(unbounded, "{\"y\": -1.5e+30}")).isTrue();
        // draft 4's boolean exclusive bounds
        JsonSchema draft4 = schema("{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": 0, \"exclusiveMinimum\": true}}}");
        assertThat(accepts(draft4, "{\"n\": 0")).isFalse();
        assertThat(complete(draft4, "{\"n\": 1}")).isTrue();
        assertThatThrownBy(() -> schema("{\"type\": \"number\", \"minimum\": 2, \"exclusiveMaximum\": 2}")).hasMessageContaining("allows no number");
        assertThatThrownBy(() -> schema("{\"type\": \"number\", \"exclusiveMinimum\": 1e400}")).hasMessageContaining("must be a finite number");
    }

    @Test
    void stringFormats() throws Exception {
        JsonSchema s = schema("""
                {"type": "object", "properties": {
                   "day": {"type": "string", "format": "date"}, "at": {"type": "string", "format": "date-time"},
                   "t": {"type": "string", "format": "time"}, "id": {"type": "string", "format": "uuid"},
                   "ip": {"type": "string", "format": "ipv4"}, "mail": {"type": "string", "format": "email"},
                   "code": {"type": "string", "format": "date", "pattern": "^x+$"}}}""");
        assertThat(complete(s, "{\"day\": \"2026-11-27\"}")).isTrue();
        assertThat(accepts(s, "{\"day\": \"2026-13")).isFalse();
        assertThat(accepts(s, "{\"day\": \"26-")).isFalse();
        assertThat(complete(s, "{\"at\": \"2026-11-27T15:48:26Z\"}")).isTrue();
        assertThat(complete(s, "{\"at\": \"2026-11-27T15:48:26.5+01:00\"}")).isTrue();
        assertThat(complete(s, "{\"at\": \"2026-11-27T15:48:26\"}")).as("an offset is required").isFalse();
        assertThat(complete(s, "{\"t\": \"23:59:60Z\"}")).isTrue();
        assertThat(accepts(s, "{\"t\": \"24")).isFalse();
        assertThat(complete(s, "{\"id\": \"123e4567-e89b-12d3-a456-426614174000\"}")).isTrue();
        assertThat(accepts(s, "{\"id\": \"123e4567-e89bx")).isFalse();
        assertThat(complete(s, "{\"ip\": \"192.168.0.255\"}")).isTrue();
        assertThat(accepts(s, "{\"ip\": \"256")).isFalse();
        assertThat(complete(s, "{\"mail\": \"anything at all\"}")).as("formats not enforced are annotations").isTrue();
        assertThat(complete(s, "{\"code\": \"xx\"}")).as("a pattern beside a format is what is followed").isTrue();
    }

    /**
     * The mask, which tries each token's bytes and branches inside a token where a value with
     * alternatives starts, allows exactly the tokens that feeding the text byte by byte accepts:
     * checked over LLaMA's 32,000 tokens at places where the text branches.
     */
    @Test
    void masksBranchInsideTokensAsFeedingDoes() throws Exception {
        Tokenizer tok = dev.genset.testing.TestFiles.llamaTokenizer();
        JsonSchema s = schema(PERSON);
        var factory = JsonConstraint.factory(tok, s);
        int n = tok.vocabSize();
        for (String at : new String[] {"{\"name\": \"Ann\", \"age\"", "{\"name\": \"Ann\", \"age\": 4, \"pet\":", "{\"name\": \"A\", \"age\": null, \"tags\": ["}) {
            byte[] before = at.getBytes(StandardCharsets.UTF_8);
            var c = (JsonConstraint) factory.get();
            assertThat(c.feed(before)).isTrue();
            float[] logits = new float[n];
            c.mask(logits, n);
            int allowed = 0;
            for (int id = 0; id < n; id++) {
                byte[] piece = tok.tokenBytes(id);
                boolean fed;
                if (tok.isEndOfGeneration(id) || piece.length == 0) fed = false;
                else {
                    var fresh = (JsonConstraint) factory.get();
                    fed = fresh.feed(before) && fresh.feed(piece);
                }
                assertThat(logits[id] == 0f).as("token %d %s after %s", id, Arrays.toString(piece), at).isEqualTo(fed);
                if (fed) allowed++;
            }
            assertThat(allowed).as("tokens allowed after %s", at).isGreaterThan(3);
        }
    }

    /** What a mask costs where the text branches: printed, best of 20, and bounded loosely. */
    @Test
    void maskingWhereTheTextBranchesIsQuick() throws Exception {
        Tokenizer tok = dev.genset.testing.TestFiles.llamaTokenizer();
        var factory = JsonConstraint.factory(tok, schema(PERSON));
        float[] logits = new float[tok.vocabSize()];
        for (String at : new String[] {"{\"name\": \"Once upon a time", "{\"name\": \"A\", \"age\":", "{\"name\": \"A\", \"age\": 1, \"tags\": ["}) {
            long best = Long.MAX_VALUE;
            int branches = 0;
            for (int i = 0; i < 20; i++) {
                var c = (JsonConstraint) factory.get();
                c.feed(at.getBytes(StandardCharsets.UTF_8));
                branches = c.branchCount();
                long t0 = System.nanoTime();
                c.mask(logits, logits.length);
                best = Math.min(best, System.nanoTime() - t0);
            }
            System.out.printf("JSON mask, 32,000 tokens, %d branch(es), after %s: %.2f ms (best of 20)%n", branches, at, best / 1e6);
            assertThat(best).as("nanoseconds").isLessThan(500_000_000L);
        }
    }
}
