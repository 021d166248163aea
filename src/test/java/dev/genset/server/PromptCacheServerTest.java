package dev.genset.server;

import dev.genset.cli.Main;
import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The prompt cache (--cache-ram) through the API: one slot, so every new conversation overwrites it. */
class PromptCacheServerTest {
    static final String LILY = "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends every day.";
    static final String TOM = "Tom had a big red ball and a small dog. He liked to run and jump in the garden with his sister after school.";

    static String chat(String system, String user) {
        return "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\""
                + user + "\"}],\"max_tokens\":4,\"temperature\":0}";
    }

    static int cached(TestServer.Reply r) {
        assertThat(r.status()).isEqualTo(200);
        return r.json().at("/usage/prompt_tokens_details/cached_tokens").asInt();
    }

    static double metric(TestServer s, String name) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*model=\"stories260K\"[^}]*} (\\S+)$").matcher(s.get("/metrics").raw().body());
        assertThat(m.find()).as(name).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aConversationTheSlotMovedOnFromComesBackFromTheCache() throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(1))) {
            TestServer.Reply first = s.post("/v1/chat/completions", chat(LILY, "What did Lily see?"));
            int prompt = first.json().at("/usage/prompt_tokens").asInt();
            cached(s.post("/v1/chat/completions", chat(TOM, "Where did Tom run?")));
            assertThat(metric(s, "genset_prompt_cache_prompts")).as("Lily's conversation, kept").isEqualTo(1);
            assertThat(metric(s, "genset_prompt_cache_size_bytes")).isPositive();

            TestServer.Reply again = s.post("/v1/chat/completions", chat(LILY, "What did Lily see?"));
            assertThat(cached(again)).isEqualTo(prompt - 1);
            assertThat(again.json().at("/choices/0/message/content").asText()).isEqualTo(first.json().at("/choices/0/message/content").asText());
            assertThat(cached(s.post("/v1/chat/completions", chat(TOM, "Who was with him?")))).as("behind Tom's system prompt")
                    .isGreaterThan(TOM.split(" ").length);
            assertThat(metric(s, "genset_prompt_cache_restored_tokens_total")).isGreaterThanOrEqualTo(prompt - 2);
        }
    }

    @Test
    void noCacheWithCacheRamZero() throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(1).withPromptCacheBytes(0))) {
            s.post("/v1/chat/completions", chat(LILY, "What did Lily see?"));
            s.post("/v1/chat/completions", chat(TOM, "Where did Tom run?"));
            assertThat(cached(s.post("/v1/chat/completions", chat(LILY, "What did Lily see?")))).isLessThan(TOM.split(" ").length);
            assertThat(metric(s, "genset_prompt_cache_prompts")).isZero();
        }
    }

    @Test
    void cacheRamTakesMebibytesZeroOrMinusOne() {
        assertThat(Main.commandLine().getSubcommands().get("serve").getCommandSpec().findOption("--cache-ram").defaultValue()).isEqualTo("8192");
        assertThat(Main.execute("serve", "--cache-ram", "-2", "--port", "0")).as("refused").isEqualTo(1);
    }
}
