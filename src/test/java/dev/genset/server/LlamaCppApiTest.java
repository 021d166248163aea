package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** llama-server's own /completion and /infill, over real HTTP, against what the OpenAI routes give for the same requests. */
@Timeout(120)
class LlamaCppApiTest {
    static TestServer s;
    @TempDir
    static Path dir;

    /** llama.cpp's greedy continuation of "Once upon a time" on the bundled model (32 tokens; see models/README.md). */
    static final String CONTINUATION = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

    @BeforeAll
    static void start() throws Exception {
        Path fim = dir.resolve("stories-fim.gguf");
        // the bundled model with fill-in-the-middle tokens declared (byte tokens stand in for them: the prompt's shape is what is tested)
        TestFiles.storiesModelWith(fim, w -> w.putUInt32("tokenizer.ggml.fim_pre_token_id", 3)
                .putUInt32("tokenizer.ggml.fim_suf_token_id", 4).putUInt32("tokenizer.ggml.fim_mid_token_id", 5)
                .putUInt32("tokenizer.ggml.fim_rep_token_id", 6).putUInt32("tokenizer.ggml.fim_sep_token_id", 7));
        List<Path> models = List.of(TestFiles.storiesModel(), fim);
        s = new TestServer(c -> new ServerConfig(c.host(), c.port(), models, c.parallel(), c.contextSize(), c.threads(), c.batchSize(),
                c.queueCapacity(), c.requestTimeout(), c.maxBodyBytes(), c.shutdownGrace()));
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
    }

    @Test
    void completionGivesLlamaCppsGreedyTextAndItsFields() throws Exception {
        var r = s.post("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 32, \"temperature\": 0, \"return_tokens\": true}");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        JsonNode j = r.json();
        assertThat(j.get("content").asText()).isEqualTo(CONTINUATION);
        assertThat(j.get("stop").asBoolean()).isTrue();
        assertThat(j.get("stop_type").asText()).isEqualTo("limit");
        assertThat(j.get("tokens_predicted").asInt()).isEqualTo(32);
        assertThat(j.get("tokens_evaluated").asInt()).isEqualTo(5);
        assertThat(j.get("tokens")).hasSize(32);
        assertThat(j.get("tokens").get(0).asInt()).isEqualTo(432);
        assertThat(j.at("/generation_settings/n_predict").asInt()).isEqualTo(32);
        assertThat(j.at("/generation_settings/temperature").asDouble()).isZero();
        assertThat(j.at("/timings/predicted_n").asInt()).isEqualTo(32);
        assertThat(j.at("/timings/predicted_per_second").asDouble()).isPositive();
        assertThat(j.get("model").asText()).isEqualTo("stories260K");

        // the same prompt as token ids (BOS included), and with a stop word
        var ids = s.post("/completion", "{\"prompt\": [1, 403, 407, 261, 378], \"n_predict\": 32, \"temperature\": -1}");
        assertThat(ids.json().get("content").asText()).isEqualTo(CONTINUATION);
        var word = s.post("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 32, \"temperature\": 0, \"stop\": [\"Lily\", \"park\"]}");
        assertThat(word.json().get("content").asText()).isEqualTo(", there was a little girl named ");
        assertThat(word.json().get("stop_type").asText()).isEqualTo("word");
        assertThat(word.json().get("stopping_word").asText()).isEqualTo("Lily");
    }

    @Test
    void aStreamIsContentChunksThenAStoppingOne() throws Exception {
        StringBuilder text = new StringBuilder();
        JsonNode last = null;
        int chunks = 0;
        for (String d : s.stream("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 32, \"temperature\": 0, \"stream\": true, \"n_probs\": 2}")) {
            assertThat(d).isNotEqualTo("[DONE]"); // llama-server's own stream has no [DONE]
            JsonNode c = TestServer.parse(d);
            text.append(c.get("content").asText());
            if (c.get("stop").asBoolean()) last = c;
            else {
                chunks++;
                assertThat(c.get("completion_probabilities")).isNotEmpty();
                assertThat(c.at("/completion_probabilities/0/top_logprobs")).hasSize(2);
                assertThat(c.at("/completion_probabilities/0/logprob").asDouble()).isLessThanOrEqualTo(0);
            }
        }
        assertThat(text.toString()).isEqualTo(CONTINUATION);
        assertThat(chunks).isGreaterThan(1);
        assertThat(last).isNotNull();
        assertThat(last.get("stop_type").asText()).isEqualTo("limit");
        assertThat(last.get("tokens_predicted").asInt()).isEqualTo(32);
    }

    @Test
    void logitBiasGrammarAndSchemaWorkAsInLlamaServer() throws Exception {
        // ban the greedy first token (",", id 432) with false: the text starts otherwise
        var banned = s.post("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 8, \"temperature\": 0, \"logit_bias\": [[432, false]]}");
        assertThat(banned.json().get("content").asText()).doesNotStartWith(",");
        var object = s.post("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 8, \"temperature\": 0, \"logit_bias\": {\"432\": -100}}");
        assertThat(object.json().get("content").asText()).doesNotStartWith(",");
        var grammar = s.post("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 20, \"temperature\": 0, \"grammar\": \"root ::= \\\" the \\\" [a-z]+ \\\".\\\"\"}");
        assertThat(grammar.json().get("content").asText()).matches(" the [a-z]+\\.");
        assertThat(grammar.json().get("stop_type").asText()).isEqualTo("eos");
        var schema = s.post("/completion", "{\"prompt\": \"Answer:\", \"n_predict\": 30, \"temperature\": 0, \"json_schema\": {\"type\": \"object\", "
                + "\"properties\": {\"ok\": {\"type\": \"boolean\"}}, \"required\": [\"ok\"], \"additionalProperties\": false}}");
        assertThat(TestServer.parse(schema.json().get("content").asText()).get("ok").isBoolean()).isTrue();
    }

    @Test
    void infillPutsPrefixAndSuffixAroundTheFimTokens() throws Exception {
        // without extra files, /infill's prompt is the one /v1/completions builds for a suffix: the same greedy text
        var infill = s.post("/infill", "{\"model\": \"stories-fim\", \"input_prefix\": \"Once upon a time\", \"input_suffix\": \"The end.\", "
                + "\"n_predict\": 12, \"temperature\": 0}");
        assertThat(infill.status()).as(String.valueOf(infill.json())).isEqualTo(200);
        var openai = s.post("/v1/completions", "{\"model\": \"stories-fim\", \"prompt\": \"Once upon a time\", \"suffix\": \"The end.\", "
                + "\"max_tokens\": 12, \"temperature\": 0}");
        assertThat(infill.json().get("content").asText()).isEqualTo(openai.json().at("/choices/0/text").asText());
        assertThat(infill.json().get("tokens_evaluated").asInt()).isEqualTo(openai.json().at("/usage/prompt_tokens").asInt());

        // with other files, the repository form: <rep>myproject\n, then <sep>name\ntext per file, then <sep>filename\n before the FIM part
        var withExtra = s.post("/infill", "{\"model\": \"stories-fim\", \"input_prefix\": \"Once upon a time\", \"input_suffix\": \"The end.\", "
                + "\"input_extra\": [{\"filename\": \"cat.txt\", \"text\": \"A cat sat.\"}], \"prompt\": \"There\", \"n_predict\": 4, \"temperature\": 0}");
        assertThat(withExtra.status()).as(String.valueOf(withExtra.json())).isEqualTo(200);
        int expected = 1 + 1 + count("myproject\n") + 1 + count("cat.txt\n") + count("A cat sat.") + 1 + count("filename\n")
                + 1 + count("Once upon a time") + 1 + count("The end.") + 1 + count("There");
        assertThat(withExtra.json().get("tokens_evaluated").asInt()).isEqualTo(expected);

        var noFim = s.post("/infill", "{\"input_prefix\": \"a\", \"input_suffix\": \"b\"}");
        ServerApiTest.assertError(noFim, 400, "invalid_request_error", "model");
    }

    /** Tokens of a text encoded alone, without BOS (as /infill encodes each piece). */
    static int count(String text) throws Exception {
        return s.post("/tokenize", "{\"model\": \"stories-fim\", \"parse_special\": false, \"content\": " + TestServer.JSON.valueToTree(text) + "}").json().get("tokens").size();
    }

    @Test
    void applyTemplateAndPropsDescribeWhatAChatWouldSee() throws Exception {
        var t = s.post("/apply-template", "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi there\"}]}");
        assertThat(t.status()).as(String.valueOf(t.json())).isEqualTo(200);
        String prompt = t.json().get("prompt").asText();
        assertThat(prompt).contains("Be brief.").contains("Hi there");
        // the rendered prompt is what a chat completion evaluates: same token count
        var chat = s.post("/v1/chat/completions", "{\"max_tokens\": 1, \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                + "{\"role\": \"user\", \"content\": \"Hi there\"}]}");
        var tokens = s.post("/tokenize", "{\"add_special\": true, \"content\": " + TestServer.JSON.valueToTree(prompt) + "}");
        assertThat(tokens.json().get("tokens").size()).isEqualTo(chat.json().at("/usage/prompt_tokens").asInt());

        var p = s.get("/props");
        assertThat(p.status()).isEqualTo(200);
        assertThat(p.json().get("model_alias").asText()).isEqualTo("stories260K");
        assertThat(p.json().at("/default_generation_settings/n_ctx").asInt()).isPositive();
        assertThat(p.json().at("/default_generation_settings/params/temperature").asDouble()).isEqualTo(0.8, org.assertj.core.api.Assertions.within(1e-6));
        assertThat(p.json().get("total_slots").asInt()).isPositive();
        assertThat(p.json().at("/modalities/vision").asBoolean()).isFalse();
    }

    @Test
    void whatGensetDoesNotHaveIsRefusedNotIgnored() throws Exception {
        ServerApiTest.assertError(s.post("/completion", "{\"prompt\": \"x\", \"mirostat\": 3}"), 400, "invalid_request_error", "mirostat");
        ServerApiTest.assertError(s.post("/completion", "{\"prompt\": \"x\", \"dry_sequence_breakers\": []}"), 400, "invalid_request_error", "dry_sequence_breakers");
        ServerApiTest.assertError(s.post("/completion", "{\"prompt\": \"x\", \"xtc_probability\": 1.5}"), 400, "invalid_request_error", "xtc_probability");
        ServerApiTest.assertError(s.post("/completion", "{\"prompt\": [\"a\", \"b\"]}"), 400, "invalid_request_error", "prompt");
        ServerApiTest.assertError(s.post("/completion", "{\"n_predict\": 3}"), 400, "invalid_request_error", "prompt");
        ServerApiTest.assertError(s.post("/completion", "{\"prompt\": [1, 99999]}"), 400, "invalid_request_error", "prompt");
        ServerApiTest.assertError(s.post("/completion", "{\"prompt\": \"x\", \"grammar\": \"root ::= nope\"}"), 400, "invalid_request_error", "grammar");
        // what only tunes llama-server itself is accepted
        var r = s.post("/completion", "{\"prompt\": \"Once\", \"n_predict\": 2, \"cache_prompt\": true, \"id_slot\": -1, \"samplers\": [\"top_k\"], "
                + "\"mirostat\": 0, \"typical_p\": 1.0, \"seed\": 4294967295}");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
    }

    /** The longest run of tokens that occurs twice in {@code tokens}. */
    static int longestRepeat(List<Integer> tokens) {
        int best = 0;
        for (int i = 0; i < tokens.size(); i++)
            for (int j = i + 1; j < tokens.size(); j++) {
                int n = 0;
                while (j + n < tokens.size() && tokens.get(i + n).equals(tokens.get(j + n))) n++;
                best = Math.max(best, n);
            }
        return best;
    }

    @Test
    void llamaCppsFurtherSamplersRun() throws Exception {
        // greedy text from the bundled model repeats itself; DRY forbids extending a repeat past 2 tokens
        String base = "{\"prompt\": \"Once upon a time\", \"n_predict\": 80, \"temperature\": 0, \"return_tokens\": true";
        var plain = s.post("/completion", base + "}");
        var dry = s.post("/completion", base + ", \"dry_multiplier\": 1000, \"dry_allowed_length\": 2, \"dry_penalty_last_n\": -1, "
                + "\"dry_sequence_breakers\": [\"\\n\"]}");
        assertThat(dry.status()).as(String.valueOf(dry.json())).isEqualTo(200);
        List<Integer> plainTokens = new java.util.ArrayList<>(), dryTokens = new java.util.ArrayList<>();
        plain.json().get("tokens").forEach(t -> plainTokens.add(t.asInt()));
        dry.json().get("tokens").forEach(t -> dryTokens.add(t.asInt()));
        assertThat(longestRepeat(plainTokens)).as("greedy text repeats: %s", plain.json().get("content")).isGreaterThan(3);
        assertThat(longestRepeat(dryTokens)).as("with DRY: %s", dry.json().get("content")).isLessThanOrEqualTo(3);
        assertThat(dry.json().at("/generation_settings/dry_multiplier").asDouble()).isEqualTo(1000);
        assertThat(dry.json().at("/generation_settings/dry_sequence_breakers/0").asText()).isEqualTo("\n");

        // the others run and are reported back as set
        var r = s.post("/completion", "{\"prompt\": \"Once\", \"n_predict\": 8, \"seed\": 3, \"mirostat\": 2, \"mirostat_tau\": 4, \"mirostat_eta\": 0.2}");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/generation_settings/mirostat").asInt()).isEqualTo(2);
        assertThat(r.json().at("/generation_settings/mirostat_tau").asDouble()).isEqualTo(4);
        r = s.post("/completion", "{\"prompt\": \"Once\", \"n_predict\": 8, \"seed\": 3, \"typical_p\": 0.5, \"xtc_probability\": 0.5, "
                + "\"xtc_threshold\": 0.1, \"dynatemp_range\": 0.5, \"top_n_sigma\": 1.5}");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().get("tokens_predicted").asInt()).isPositive();
        assertThat(r.json().at("/generation_settings/typical_p").asDouble()).isEqualTo(0.5);
        assertThat(r.json().at("/generation_settings/top_n_sigma").asDouble()).isEqualTo(1.5);
        // the same fields in OpenAI's routes, as llama-server takes them there
        var chat = s.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 8, "
                + "\"mirostat\": 1, \"dry_multiplier\": 0.8, \"xtc_probability\": 0.3}");
        assertThat(chat.status()).as(String.valueOf(chat.json())).isEqualTo(200);
        ServerApiTest.assertError(s.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"typical_p\": \"x\"}"),
                400, "invalid_request_error", "typical_p");
    }

    @Test
    void slotsShowWhatEachSlotHolds() throws Exception {
        var idle = s.get("/slots?fail_on_no_slot=1");
        assertThat(idle.status()).as(String.valueOf(idle.json())).isEqualTo(200);
        JsonNode a = idle.json();
        assertThat(a.isArray()).isTrue();
        assertThat(a.size()).isPositive();
        for (JsonNode slot : a) {
            assertThat(slot.get("is_processing").asBoolean()).isFalse();
            assertThat(slot.get("n_ctx").asInt()).isPositive();
            assertThat(slot.has("prompt")).as("prompts are not shown: the slots serve many tenants").isFalse();
        }
        assertThat(s.post("/completion", "{\"prompt\": \"Once upon a time\", \"n_predict\": 8, \"temperature\": 0}").status()).isEqualTo(200);
        JsonNode after = s.get("/slots").json();
        int held = 0;
        for (JsonNode slot : after) held = Math.max(held, slot.get("n_past").asInt());
        assertThat(held).as("the slot that served it keeps the prompt and the text").isGreaterThanOrEqualTo(5 + 7);
        var unknown = s.get("/slots?model=nothing-here");
        assertThat(unknown.status()).isEqualTo(404);
    }
}
