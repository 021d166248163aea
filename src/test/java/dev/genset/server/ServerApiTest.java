package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** The HTTP API against a live server on loopback, with the bundled stories260K model (context 128). */
@Timeout(120)
class ServerApiTest {
    static TestServer s;

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(c -> c.withParallel(8).withMaxBodyBytes(1 << 20));
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static String chat(String user, int maxTokens, String extra) {
        return "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":" + quote(user) + "}],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0" + extra + "}";
    }

    static String quote(String s) {
        return TestServer.JSON.valueToTree(s).toString();
    }

    @Test
    void healthReportsIdleSlots() throws Exception {
        var r = s.get("/health");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("status").asText()).isEqualTo("ok");
        assertThat(r.json().get("slots_idle").asInt() + r.json().get("slots_processing").asInt()).isEqualTo(8);
    }

    @Test
    void listsTheModel() throws Exception {
        var r = s.get("/v1/models");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("object").asText()).isEqualTo("list");
        JsonNode m = r.json().get("data").get(0);
        assertThat(m.get("id").asText()).isEqualTo("stories260K");
        assertThat(m.get("object").asText()).isEqualTo("model");
        assertThat(m.get("owned_by").asText()).isNotEmpty();
        assertThat(m.get("created").isIntegralNumber()).isTrue();
    }

    @Test
    void chatCompletionHasOpenAiShape() throws Exception {
        var r = s.post("/v1/chat/completions", chat("Tell me a story.", 12, ""));
        assertThat(r.status()).isEqualTo(200);
        JsonNode j = r.json();
        assertThat(j.get("id").asText()).startsWith("chatcmpl-");
        assertThat(j.get("object").asText()).isEqualTo("chat.completion");
        assertThat(j.get("created").isIntegralNumber()).isTrue();
        assertThat(j.get("model").asText()).isEqualTo("stories260K");
        JsonNode c = j.get("choices").get(0);
        assertThat(c.get("index").asInt()).isZero();
        assertThat(c.get("message").get("role").asText()).isEqualTo("assistant");
        assertThat(c.get("message").get("content").asText()).isNotEmpty();
        assertThat(c.get("finish_reason").asText()).isIn("stop", "length");
        assertThat(c.has("logprobs")).isTrue();
        JsonNode u = j.get("usage");
        assertThat(u.get("completion_tokens").asInt()).isBetween(1, 12);
        assertThat(u.get("total_tokens").asInt()).isEqualTo(u.get("prompt_tokens").asInt() + u.get("completion_tokens").asInt());
        assertThat(u.get("prompt_tokens_details").get("cached_tokens").isIntegralNumber()).isTrue();
    }

    @Test
    void contentPartsAreJoinedText() throws Exception {
        var plain = s.post("/v1/chat/completions", chat("Tell me about a dog.", 8, ""));
        var parts = s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Tell me about a dog.\"}]}],"
                + "\"max_tokens\":8,\"temperature\":0}");
        assertThat(parts.status()).isEqualTo(200);
        assertThat(parts.json().at("/choices/0/message/content").asText()).isEqualTo(plain.json().at("/choices/0/message/content").asText());
    }

    @Test
    void streamedChatChunksCarryWhatClientsCheck() throws Exception {
        String whole = s.post("/v1/chat/completions", chat("Once upon a time", 20, "")).json().at("/choices/0/message/content").asText();
        List<String> data = s.stream("/v1/chat/completions", chat("Once upon a time", 20, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(data.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = data.subList(0, data.size() - 1).stream().map(TestServer::parse).toList();
        JsonNode first = chunks.getFirst();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < chunks.size() - 1; i++) {
            JsonNode c = chunks.get(i);
            assertThat(c.get("id").asText()).isEqualTo(first.get("id").asText()).startsWith("chatcmpl-");
            assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("created").asLong()).isEqualTo(first.get("created").asLong());
            assertThat(c.get("model").asText()).isEqualTo("stories260K");
            JsonNode ch = c.get("choices").get(0);
            assertThat(ch.get("index").asInt()).isZero();
            assertThat(ch.get("delta").isObject()).isTrue();
            boolean last = i == chunks.size() - 2;
            if (last) assertThat(ch.get("finish_reason").asText()).isIn("stop", "length");
            else assertThat(ch.get("finish_reason").isNull()).as("finish_reason of chunk " + i).isTrue();
            if (ch.get("delta").has("content")) text.append(ch.get("delta").get("content").asText());
        }
        assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(text.toString()).isEqualTo(whole);
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices").isEmpty()).isTrue();
        assertThat(usage.get("id").asText()).isEqualTo(first.get("id").asText());
        assertThat(usage.at("/usage/completion_tokens").asInt()).isBetween(1, 20);
        assertThat(usage.at("/usage/prompt_tokens_details/cached_tokens").isIntegralNumber()).isTrue();
    }

    @Test
    void greedyCompletionMatchesTheReference() throws Exception {
        var r = s.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":32,\"temperature\":0}");
        assertThat(r.status()).isEqualTo(200);
        JsonNode c = r.json().get("choices").get(0);
        assertThat(r.json().get("object").asText()).isEqualTo("text_completion");
        assertThat(c.get("text").asText()).isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw");
        assertThat(c.get("finish_reason").asText()).isEqualTo("length");
        assertThat(r.json().at("/usage/prompt_tokens").asInt()).isEqualTo(5);
        assertThat(r.json().at("/usage/completion_tokens").asInt()).isEqualTo(32);
    }

    @Test
    void echoWithLogprobsScoresEveryPromptToken() throws Exception {
        // As lm-evaluation-harness asks for a log-likelihood: token ids, echo, logprobs 1, max_tokens 0.
        int[] prompt = {1, 403, 407, 261, 378, 432, 383, 286};
        var r = s.post("/v1/completions", "{\"prompt\":" + java.util.Arrays.toString(prompt) + ",\"echo\":true,\"logprobs\":1,\"max_tokens\":0,\"temperature\":0}");
        assertThat(r.status()).isEqualTo(200);
        JsonNode c = r.json().get("choices").get(0);
        JsonNode lp = c.get("logprobs");
        assertThat(lp.get("tokens")).hasSize(prompt.length);
        assertThat(lp.get("token_logprobs").get(0).isNull()).isTrue();
        assertThat(lp.get("top_logprobs").get(0).isNull()).isTrue();
        assertThat(c.get("text").asText()).isEqualTo(" Once upon a time, there was");
        for (int i = 1; i < prompt.length; i++) {
            double v = lp.get("token_logprobs").get(i).asDouble();
            assertThat(v).isNegative();
            // The continuation ", there was" is the greedy one: each token is its position's top token.
            JsonNode top = lp.get("top_logprobs").get(i);
            assertThat(top.size()).isEqualTo(1);
            if (i >= 5) assertThat(top.fieldNames().next()).isEqualTo(lp.get("tokens").get(i).asText());
        }
        assertThat(lp.get("text_offset").get(2).asInt()).isEqualTo(5);
        assertThat(r.json().at("/usage/completion_tokens").asInt()).isZero();
        // The same scores as generating the continuation with logprobs.
        var gen = s.post("/v1/completions", "{\"prompt\":[1,403,407,261,378],\"logprobs\":0,\"max_tokens\":3,\"temperature\":0}");
        JsonNode g = gen.json().at("/choices/0/logprobs/token_logprobs");
        for (int i = 0; i < 3; i++) assertThat(g.get(i).asDouble()).isCloseTo(lp.get("token_logprobs").get(5 + i).asDouble(), org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void textOffsetsIndexIntoTheReturnedText() throws Exception {
        // SentencePiece adds a space before the first word ("▁Once"), absent from the echoed prompt:
        // each token's offset still points at its text in the returned text, streamed or not.
        String body = "{\"prompt\":\"Once upon a time\",\"echo\":true,\"logprobs\":0,\"max_tokens\":6,\"temperature\":0";
        JsonNode c = s.post("/v1/completions", body + "}").json().at("/choices/0");
        String text = c.get("text").asText();
        assertThat(text).startsWith("Once upon a time");
        checkOffsets(text, c.get("logprobs"));
        assertThat(c.at("/logprobs/text_offset/1").asInt()).isZero(); // after BOS, " Once" starts at "Once"
        assertThat(c.at("/logprobs/text_offset/2").asInt()).isEqualTo(4); // " upon"

        StringBuilder streamed = new StringBuilder();
        List<JsonNode> tokens = new ArrayList<>(), offsets = new ArrayList<>();
        List<String> data = s.stream("/v1/completions", body + ",\"stream\":true}");
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode ch = TestServer.parse(d).at("/choices/0");
            streamed.append(ch.get("text").asText());
            if (ch.get("logprobs").isObject()) {
                ch.at("/logprobs/tokens").forEach(tokens::add);
                ch.at("/logprobs/text_offset").forEach(offsets::add);
            }
        }
        assertThat(streamed.toString()).isEqualTo(text);
        List<JsonNode> wholeTokens = new ArrayList<>(), wholeOffsets = new ArrayList<>();
        c.at("/logprobs/tokens").forEach(wholeTokens::add);
        c.at("/logprobs/text_offset").forEach(wholeOffsets::add);
        assertThat(tokens).isEqualTo(wholeTokens);
        assertThat(offsets).isEqualTo(wholeOffsets);
    }

    /** Each token's text is found at its offset (less the leading space the echoed prompt lacks), offsets never decrease. */
    private static void checkOffsets(String text, JsonNode lp) {
        int last = 0;
        for (int i = 0; i < lp.get("tokens").size(); i++) {
            String tok = lp.get("tokens").get(i).asText();
            int at = lp.get("text_offset").get(i).asInt();
            assertThat(at).isGreaterThanOrEqualTo(last).isLessThanOrEqualTo(text.length());
            if (!tok.isEmpty()) assertThat(text.startsWith(tok, at) || text.startsWith(tok.substring(1), at))
                    .as("token %d %s at %d in %s", i, tok, at, text).isTrue();
            last = at;
        }
    }

    @Test
    void streamedCompletionEqualsTheWholeOne() throws Exception {
        String body = "{\"prompt\":\"The cat\",\"max_tokens\":24,\"temperature\":0";
        String whole = s.post("/v1/completions", body + "}").json().at("/choices/0/text").asText();
        List<String> data = s.stream("/v1/completions", body + ",\"stream\":true}");
        assertThat(data.getLast()).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode c = TestServer.parse(d);
            assertThat(c.get("object").asText()).isEqualTo("text_completion");
            text.append(c.at("/choices/0/text").asText());
            if (!c.at("/choices/0/finish_reason").isNull()) finish = c.at("/choices/0/finish_reason").asText();
        }
        assertThat(text.toString()).isEqualTo(whole);
        assertThat(finish).isEqualTo("length");
    }

    @Test
    void arrayOfPromptsGivesOneChoiceEach() throws Exception {
        var r = s.post("/v1/completions", "{\"prompt\":[\"Once upon a time\",\"The cat\"],\"max_tokens\":5,\"temperature\":0}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("choices")).hasSize(2);
        assertThat(r.json().at("/choices/0/index").asInt()).isZero();
        assertThat(r.json().at("/choices/1/index").asInt()).isEqualTo(1);
        assertThat(r.json().at("/choices/0/text").asText()).isEqualTo(", there was a little");
    }

    @Test
    void stopStringEndsTheText() throws Exception {
        var r = s.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":32,\"temperature\":0,\"stop\":[\"Lily\",\"zzz\"]}");
        assertThat(r.json().at("/choices/0/text").asText()).isEqualTo(", there was a little girl named ");
        assertThat(r.json().at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void secondTurnReusesTheCachedPrompt() throws Exception {
        String body = chat("A long day at the beach with Tom and his sister.", 4, "");
        s.post("/v1/chat/completions", body);
        var again = s.post("/v1/chat/completions", body);
        int prompt = again.json().at("/usage/prompt_tokens").asInt();
        assertThat(again.json().at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(prompt - 1);
    }

    /** Requests sent together behind one long system prompt compute it once: the others report it as cached. */
    @Test
    void concurrentRequestsShareTheirSystemPrompt() throws Exception {
        String system = "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends every day.";
        java.util.List<java.util.concurrent.Future<TestServer.Reply>> replies = new java.util.ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (String user : new String[] {"Tell me about Tom.", "What did Lily see?", "Where is the park?"}) {
                String body = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"system\",\"content\":" + quote(system)
                        + "},{\"role\":\"user\",\"content\":" + quote(user) + "}],\"max_tokens\":4,\"temperature\":0}";
                replies.add(threads.submit(() -> s.post("/v1/chat/completions", body)));
            }
        }
        int shared = 0;
        for (var f : replies) {
            TestServer.Reply r = f.get();
            assertThat(r.status()).isEqualTo(200);
            shared += r.json().at("/usage/prompt_tokens_details/cached_tokens").asInt();
        }
        int systemTokens = s.post("/tokenize", "{\"content\":" + quote(system) + "}").json().get("tokens").size();
        assertThat(shared).as("cached tokens over the three").isGreaterThanOrEqualTo(systemTokens);
    }

    @Test
    void tokenizeAndDetokenize() throws Exception {
        var t = s.post("/tokenize", "{\"content\":\"Once upon a time\"}");
        assertThat(t.status()).isEqualTo(200);
        assertThat(t.json().get("tokens").toString()).isEqualTo("[403,407,261,378]");
        var withBos = s.post("/tokenize", "{\"content\":\"Once upon a time\",\"add_special\":true,\"with_pieces\":true}");
        assertThat(withBos.json().at("/tokens/0/id").asInt()).isEqualTo(1);
        assertThat(withBos.json().at("/tokens/1/piece").asText()).isEqualTo(" Once");
        var d = s.post("/detokenize", "{\"tokens\":[403,407,261,378]}");
        assertThat(d.json().get("content").asText()).isEqualTo(" Once upon a time");
        assertThat(s.post("/detokenize", "{\"tokens\":[99999]}").status()).isEqualTo(400);
    }

    @Test
    void eightConcurrentGreedyStreamsGiveWhatEachGivesAlone() throws Exception {
        String[] prompts = {"Once upon a time", "Tom had a red ball", "The sun", "Lily and Ben went to the park", "One day",
                "She saw a big dog", "The little bird", "Mom said"};
        List<String> alone = new ArrayList<>();
        for (String p : prompts) alone.add(streamedText(p));
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> together = new ArrayList<>();
            for (String p : prompts) together.add(pool.submit(() -> streamedText(p)));
            for (int i = 0; i < prompts.length; i++) assertThat(together.get(i).get()).as(prompts[i]).isEqualTo(alone.get(i));
        }
    }

    private static String streamedText(String prompt) throws Exception {
        StringBuilder text = new StringBuilder();
        for (String d : s.stream("/v1/completions", "{\"prompt\":" + quote(prompt) + ",\"max_tokens\":60,\"temperature\":0,\"stream\":true}")) {
            if (d.equals("[DONE]")) break;
            text.append(TestServer.parse(d).at("/choices/0/text").asText());
        }
        return text.toString();
    }

    @Test
    void jsonObjectResponseFormatGivesValidJson() throws Exception {
        var r = s.post("/v1/chat/completions", chat("Give me JSON", 80, ",\"response_format\":{\"type\":\"json_object\"}"));
        assertThat(r.status()).isEqualTo(200);
        String content = r.json().at("/choices/0/message/content").asText();
        assertThat(content).startsWith("{");
        if (r.json().at("/choices/0/finish_reason").asText().equals("stop")) {
            assertThat(TestServer.parse(content)).as(content).isNotNull();
            assertThat(TestServer.parse(content).isObject()).isTrue();
        }
    }

    @Test
    void jsonSchemaResponseFormatIsFollowed() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"color\":{\"enum\":[\"red\",\"green\"]},\"count\":{\"type\":\"integer\"},"
                + "\"happy\":{\"type\":\"boolean\"}},\"required\":[\"color\",\"count\",\"happy\"],\"additionalProperties\":false}";
        var r = s.post("/v1/chat/completions", chat("Describe the ball", 80,
                ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"ball\",\"strict\":true,\"schema\":" + schema + "}}"));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        String content = r.json().at("/choices/0/message/content").asText();
        assertThat(r.json().at("/choices/0/finish_reason").asText()).as(content).isEqualTo("stop");
        JsonNode v = TestServer.parse(content);
        assertThat(v).as(content).isNotNull();
        assertThat(v.get("color").asText()).isIn("red", "green");
        assertThat(v.get("count").isIntegralNumber()).isTrue();
        assertThat(v.get("happy").isBoolean()).isTrue();
        assertThat(v.size()).isEqualTo(3);
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"banana\"}}}")),
                400, "invalid_request_error", "response_format.json_schema.schema");
    }

    /** Optional fields (anyOf a type and null, as Pydantic writes them), bounded numbers and a date, sampled at temperature 1. */
    @Test
    void nestedAlternativesBoundsAndFormatsAreFollowed() throws Exception {
        String schema = """
                {"type":"object","properties":{"name":{"anyOf":[{"type":"string","maxLength":12},{"type":"null"}]},
                 "score":{"type":"number","minimum":0,"maximum":1},"when":{"type":"string","format":"date"},
                 "tags":{"type":"array","items":{"anyOf":[{"type":"integer","minimum":1,"maximum":9},{"type":"boolean"}]},"maxItems":3}},
                 "required":["name","score","when","tags"],"additionalProperties":false}""";
        int followed = 0;
        for (int seed = 1; seed <= 6; seed++) {
            var r = s.post("/v1/chat/completions", chat("Describe the ball", 200, ",\"seed\":" + seed
                    + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"ball\",\"strict\":true,\"schema\":" + schema + "}}")
                    .replace("\"temperature\":0", "\"temperature\":1"));
            assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
            String content = r.json().at("/choices/0/message/content").asText();
            if (!r.json().at("/choices/0/finish_reason").asText().equals("stop")) continue; // cut off by max_tokens
            JsonNode v = TestServer.parse(content);
            assertThat(v).as(content).isNotNull();
            assertThat(v.get("name").isNull() || v.get("name").isTextual() && v.get("name").asText().codePointCount(0, v.get("name").asText().length()) <= 12).as(content).isTrue();
            assertThat(v.get("score").isNumber() && v.get("score").asDouble() >= 0 && v.get("score").asDouble() <= 1).as(content).isTrue();
            assertThat(java.time.LocalDate.parse(v.get("when").asText())).as(content).isNotNull();
            assertThat(v.get("tags").size()).as(content).isLessThanOrEqualTo(3);
            for (JsonNode t : v.get("tags")) assertThat(t.isBoolean() || t.isInt() && t.asInt() >= 1 && t.asInt() <= 9).as(content).isTrue();
            followed++;
        }
        assertThat(followed).as("answers that ended within max_tokens").isGreaterThanOrEqualTo(2);
        StringBuilder wide = new StringBuilder();
        for (int i = 1; i <= 70; i++) wide.append(i > 1 ? "," : "").append("{\"type\":\"string\",\"maxLength\":").append(i).append('}');
        String ambiguous = "{\"anyOf\":[{\"anyOf\":[" + wide.substring(0, wide.indexOf(":36}") + 4) + "]},{\"anyOf\":[" + wide.substring(wide.indexOf(":36}") + 5) + "]}]}";
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":" + ambiguous + "}}")),
                400, "invalid_request_error", null);
    }

    @Test
    void aGrammarShapesChatAndCompletions() throws Exception {
        String grammar = "root ::= \"The \" animal \" is \" [a-z]+ \".\"\nanimal ::= \"cat\" | \"dog\" | \"bird\"";
        for (int seed = 1; seed <= 3; seed++) {
            var r = s.post("/v1/chat/completions", chat("Tell me about a pet", 40, ",\"seed\":" + seed + ",\"grammar\":" + quote(grammar))
                    .replace("\"temperature\":0", "\"temperature\":1"));
            assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
            String content = r.json().at("/choices/0/message/content").asText();
            assertThat(content).matches("The (cat|dog|bird) is [a-z]+\\.");
            assertThat(r.json().at("/choices/0/finish_reason").asText()).as(content).isEqualTo("stop");
        }
        // completions, streamed: the same grammar over the pieces put together
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String d : s.stream("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"temperature\":0,\"stream\":true,\"grammar\":"
                + quote("root ::= \", \" [a-z]+ (\" \" [a-z]+){2,5} \"!\"") + "}")) {
            if (d.equals("[DONE]")) break;
            JsonNode c = TestServer.parse(d).at("/choices/0");
            text.append(c.get("text").asText());
            if (!c.get("finish_reason").isNull()) finish = c.get("finish_reason").asText();
        }
        assertThat(text.toString()).matches(", [a-z]+( [a-z]+){2,5}!");
        assertThat(finish).isEqualTo("stop");
    }

    /** vLLM's structured outputs, as vLLM takes them since 0.12 and before. */
    @Test
    void vllmStructuredOutputsAreFollowed() throws Exception {
        var r = s.post("/v1/chat/completions", chat("Classify: I love it", 10, ",\"structured_outputs\":{\"choice\":[\"positive\",\"negative\"]}"));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/choices/0/message/content").asText()).isIn("positive", "negative");
        r = s.post("/v1/chat/completions", chat("Classify: I love it", 10, ",\"guided_choice\":[\"yes \\\"really\\\"\",\"no\"],\"guided_decoding_backend\":\"xgrammar\""));
        assertThat(r.json().at("/choices/0/message/content").asText()).isIn("yes \"really\"", "no");

        r = s.post("/v1/completions", "{\"prompt\":\"Call me at\",\"max_tokens\":20,\"structured_outputs\":{\"regex\":\" \\\\(\\\\d{3}\\\\) \\\\d{3}-\\\\d{4}\"}}");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/choices/0/text").asText()).matches(" \\(\\d{3}\\) \\d{3}-\\d{4}");
        r = s.post("/v1/chat/completions", chat("Name a word", 20, ",\"guided_regex\":\"[a-z]{3,8}\""));
        assertThat(r.json().at("/choices/0/message/content").asText()).matches("[a-z]{3,8}");

        String schema = "{\"type\":\"object\",\"properties\":{\"size\":{\"enum\":[\"small\",\"big\"]},\"legs\":{\"type\":\"integer\"}},"
                + "\"required\":[\"size\",\"legs\"],\"additionalProperties\":false}";
        for (String json : List.of(",\"structured_outputs\":{\"json\":" + schema + "}", ",\"guided_json\":" + quote(schema), ",\"json_schema\":" + schema)) {
            r = s.post("/v1/chat/completions", chat("Describe the animal", 60, json));
            assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
            JsonNode v = TestServer.parse(r.json().at("/choices/0/message/content").asText());
            assertThat(v.get("size").asText()).isIn("small", "big");
            assertThat(v.get("legs").isIntegralNumber()).isTrue();
        }
        r = s.post("/v1/chat/completions", chat("Say hi", 20, ",\"guided_grammar\":" + quote("root ::= \"hi \" [a-z]+")));
        assertThat(r.json().at("/choices/0/message/content").asText()).matches("hi [a-z]+");
        r = s.post("/v1/chat/completions", chat("Give me JSON", 60, ",\"structured_outputs\":{\"json_object\":true}"));
        String object = r.json().at("/choices/0/message/content").asText();
        assertThat(object).startsWith("{");
        if (r.json().at("/choices/0/finish_reason").asText().equals("stop")) assertThat(TestServer.parse(object).isObject()).as(object).isTrue();
    }

    @Test
    void badStructuredOutputsAre400s() throws Exception {
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"guided_choice\":[\"a\"],\"grammar\":\"root ::= \\\"a\\\"\"")), 400, "invalid_request_error", "guided_choice");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"structured_outputs\":{\"choice\":[\"a\"],\"regex\":\"a\"}")), 400, "invalid_request_error", "structured_outputs");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"structured_outputs\":{\"structural_tag\":{}}")), 400, "invalid_request_error", "structured_outputs.structural_tag");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"guided_choice\":[]")), 400, "invalid_request_error", "guided_choice");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"guided_choice\":\"a\"")), 400, "invalid_request_error", "guided_choice");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"guided_whitespace_pattern\":\" *\"")), 400, "invalid_request_error", "guided_whitespace_pattern");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"guided_json\":\"{not json\"")), 400, "invalid_request_error", "guided_json");
        var r = s.post("/v1/chat/completions", chat("x", 5, ",\"structured_outputs\":{\"regex\":\"(?=a)b\"}"));
        assertError(r, 400, "invalid_request_error", "structured_outputs.regex");
        assertThat(r.json().at("/error/message").asText()).contains("Invalid regular expression").contains("lookarounds");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"guided_regex\":\"a\",\"response_format\":{\"type\":\"json_object\"}")),
                400, "invalid_request_error", "guided_regex");
    }

    @Test
    void aBadGrammarIsA400SayingWhere() throws Exception {
        var r = s.post("/v1/chat/completions", chat("x", 5, ",\"grammar\":" + quote("root ::= \"a\"\nitem ::= [a-")));
        assertError(r, 400, "invalid_request_error", "grammar");
        assertThat(r.json().at("/error/code").asText()).isEqualTo("invalid_grammar");
        assertThat(r.json().at("/error/message").asText()).contains("unterminated character class at line 2");
        r = s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":5,\"grammar\":" + quote("root ::= root \"a\"") + "}");
        assertError(r, 400, "invalid_request_error", "grammar");
        assertThat(r.json().at("/error/message").asText()).contains("left-recursive");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"grammar\":" + quote("root ::= \"a\"") + ",\"response_format\":{\"type\":\"json_object\"}")),
                400, "invalid_request_error", "grammar");
        assertError(s.post("/v1/chat/completions", chat("x", 5, ",\"grammar\":42")), 400, "invalid_request_error", "grammar");
        // a grammar whose parses multiply past the matcher's bound (2^k after k a's, and at least 15 come first) fails that request, as a client error
        r = s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":30,\"grammar\":"
                + quote("root ::= x\nx ::= \"a\" x \"b\" | \"a\" x \"c\" | \"a\"{15}") + "}");
        assertError(r, 400, "invalid_request_error", null);
        assertThat(r.json().at("/error/message").asText()).contains("too ambiguous");
    }

    // ---- hostile requests --------------------------------------------------------------------

    static void assertError(TestServer.Reply r, int status, String type, String param) {
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(status);
        assertThat(r.raw().headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode e = r.json().get("error");
        assertThat(e).as("error object").isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.get("type").asText()).isEqualTo(type);
        assertThat(e.has("param")).isTrue();
        assertThat(e.has("code")).isTrue();
        if (param != null) assertThat(e.get("param").asText()).isEqualTo(param);
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(s.post("/v1/chat/completions", "{\"messages\": [}"), 400, "invalid_request_error", null);
        assertError(s.post("/v1/chat/completions", ""), 400, "invalid_request_error", null);
        assertError(s.post("/v1/chat/completions", "[1,2]"), 400, "invalid_request_error", null);
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} trailing"), 400, "invalid_request_error", null);
        assertError(s.post("/v1/completions", "{\"prompt\":\"a\",\"prompt\":\"b\"}"), 400, "invalid_request_error", null);
    }

    @Test
    void wrongTypesAndValuesNameTheField() throws Exception {
        assertError(s.post("/v1/chat/completions", chat("hi", -5, "")), 400, "invalid_request_error", "max_tokens");
        assertError(s.post("/v1/chat/completions", chat("hi", 5, ",\"temperature\":\"hot\"").replace("\"temperature\":0,", "")), 400, "invalid_request_error", "temperature");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":3}"), 400, "invalid_request_error", "temperature");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_p\":-0.1}"), 400, "invalid_request_error", "top_p");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}"), 400, "invalid_request_error", "messages[0].role");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":5}]}"), 400, "invalid_request_error", "messages[0].content");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[]}"), 400, "invalid_request_error", "messages");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\"}"), 400, "invalid_request_error", "messages");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"frobnicate\":1}"), 400, "invalid_request_error", "frobnicate");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[\"a\",7]}"), 400, "invalid_request_error", "stop[1]");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logprobs\":true,\"top_logprobs\":50}"), 400, "invalid_request_error", "top_logprobs");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream_options\":{\"include_usage\":true}}"), 400, "invalid_request_error", "stream_options");
        assertError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":1000}"), 400, "invalid_request_error", "n");
        assertError(s.post("/v1/completions", "{\"prompt\":[1,2,99999]}"), 400, "invalid_request_error", "prompt[2]");
        assertError(s.post("/v1/completions", "{\"prompt\":{\"text\":\"x\"}}"), 400, "invalid_request_error", "prompt");
        assertError(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":-1}"), 400, "invalid_request_error", "max_tokens");
        assertError(s.post("/v1/completions", "{\"prompt\":\"x\",\"suffix\":\"y\"}"), 400, "invalid_request_error", "suffix");
        assertError(s.post("/tokenize", "{\"content\":7}"), 400, "invalid_request_error", "content");
    }

    @Test
    void unknownModelIs404() throws Exception {
        assertError(s.post("/v1/chat/completions", "{\"model\":\"gpt-17\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 404, "not_found_error", "model");
        assertError(s.post("/v1/completions", "{\"model\":\"nope\",\"prompt\":\"hi\"}"), 404, "not_found_error", "model");
    }

    @Test
    void unknownUrlIs404() throws Exception {
        assertError(s.get("/v1/engines"), 404, "not_found_error", null);
    }

    @Test
    void oversizedBodyIs413() throws Exception {
        String big = "{\"prompt\":\"" + "a".repeat(2 << 20) + "\"}";
        assertError(s.post("/v1/completions", big), 413, "invalid_request_error", null);
        // The server is still fine.
        assertThat(s.get("/health").status()).isEqualTo(200);
    }

    @Test
    void bodiesWithoutADeclaredLengthAreReadWholeAndStillLimited() throws Exception {
        // chunked: the server grows its buffer as the body comes, past its first kilobyte
        String text = "Once upon a time ".repeat(600);
        var chunked = chunkedPost("/tokenize", "{\"content\":\"" + text + "\"}");
        assertThat(chunked.status()).isEqualTo(200);
        var declared = s.post("/tokenize", "{\"content\":\"" + text + "\"}");
        assertThat(chunked.json().get("tokens")).isEqualTo(declared.json().get("tokens"));
        assertThat(chunked.json().get("tokens").size()).isGreaterThan(1000);

        assertError(chunkedPost("/v1/completions", "{\"prompt\":\"" + "a".repeat(2 << 20) + "\"}"), 413, "invalid_request_error", null);
        assertThat(s.get("/health").status()).isEqualTo(200);
    }

    /** A POST whose body is sent chunked (no Content-Length). */
    private static TestServer.Reply chunkedPost(String path, String body) throws Exception {
        byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.base + path)).timeout(java.time.Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(bytes))).build();
        var r = s.http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
        return new TestServer.Reply(r.statusCode(), TestServer.parse(r.body()), r);
    }

    @Test
    void promptLongerThanTheContextIs400SayingByHowMuch() throws Exception {
        var r = s.post("/v1/chat/completions", chat("the dog ran ".repeat(100), 5, ""));
        assertError(r, 400, "exceed_context_size_error", null);
        int n = r.json().at("/error/n_prompt_tokens").asInt(), ctx = r.json().at("/error/n_ctx").asInt();
        assertThat(ctx).isEqualTo(128);
        assertThat(r.json().at("/error/message").asText()).contains(Integer.toString(n - ctx + 1));
    }

    @Test
    void metricsArePrometheusText() throws Exception {
        s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"temperature\":0}");
        var r = s.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        String text = r.raw().body();
        assertThat(text).contains("genset_requests_total{", "genset_prompt_tokens_total{", "genset_generated_tokens_total{",
                "genset_queue_depth{", "genset_slots_busy{", "genset_slots{",
                "genset_time_to_first_token_seconds_bucket{", "genset_inter_token_latency_seconds_bucket{");
        // the engine's read-ahead choice: 1 or 0, its measured gain NaN until a trial has ended (the tiny model's float weights never start one)
        for (String products : new String[] {"one_row", "batches"})
            assertThat(text).containsPattern("(?m)^genset_engine_read_ahead\\{products=\"" + products + "\"} [01]\\.0$")
                    .containsPattern("(?m)^genset_engine_read_ahead_gain\\{products=\"" + products + "\"} (NaN|[0-9.]+)$");
    }
}
