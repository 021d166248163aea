package dev.genset.cli;

import dev.genset.testing.Cli;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ChatCommandTest {
    @Test
    void multiTurnChatReusesTheConversationPrefix() {
        var r = Cli.runWithInput("Hello there\n\nTell me a story\n/exit\nnot read\n",
                "chat", "--model", TestFiles.storiesModel().toString(), "--temp", "0", "-n", "12", "--ctx-size", "512");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("chatml format");
        // Two replies, one per user line (the blank line is skipped, /exit ends the session).
        var turns = r.err().lines().filter(l -> l.startsWith("[prompt:")).toList();
        assertThat(turns).hasSize(2);
        assertThat(turns.get(0)).contains("(0 cached)").contains("reply: 12 tokens");
        // The second turn's prompt starts with the whole first exchange, so most of it comes from the cache.
        int cached = Integer.parseInt(turns.get(1).replaceAll(".*\\((\\d+) cached\\).*", "$1"));
        assertThat(cached).isGreaterThan(20);
        assertThat(r.out().lines().filter(l -> !l.isBlank()).count()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void builtinTemplateCanBeChosen() {
        var r = Cli.runWithInput("Hi\n", "chat", "--model", TestFiles.storiesModel().toString(), "--temp", "0", "-n", "4", "--template", "llama2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("llama2 format");
    }
}
