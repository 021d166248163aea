package dev.genset.server;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ReasoningSplitTest {
    /** The split of text cut into pieces at random (seeded), joined back. */
    static String[] split(String text, boolean startsInside, long seed) {
        ReasoningSplit s = new ReasoningSplit(startsInside);
        Random random = new Random(seed);
        StringBuilder reasoning = new StringBuilder(), content = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int n = seed == 0 ? text.length() : 1 + random.nextInt(4);
            ReasoningSplit.Piece p = s.push(text.substring(i, Math.min(text.length(), i + n)));
            reasoning.append(p.reasoning());
            content.append(p.content());
            i += n;
        }
        ReasoningSplit.Piece p = s.flush();
        return new String[] {reasoning.append(p.reasoning()).toString(), content.append(p.content()).toString()};
    }

    static void check(String text, boolean startsInside, String reasoning, String content) {
        for (long seed = 0; seed < 40; seed++)
            assertThat(split(text, startsInside, seed)).as("%s, cut with seed %d", text, seed).containsExactly(reasoning, content);
    }

    @Test
    void splitsAtTheTags() {
        check("<think>\nLet me see. 2 < 3.\n</think>\n\nThe answer is 3.", false, "\nLet me see. 2 < 3.\n", "The answer is 3.");
        check("  <think>x</think>y", false, "x", "y");
        check("Let me see.</think>\n\nYes.", true, "Let me see.", "Yes.");
    }

    @Test
    void textWithoutTagsIsTheAnswer() {
        check("Hello <there>.", false, "", "Hello <there>.");
        check("<thinking is fun", false, "", "<thinking is fun");
        check("  ", false, "", "  ");
        check("", false, "", "");
    }

    @Test
    void anUnfinishedReasoningIsReasoning() {
        check("<think>still going </thi", false, "still going </thi", "");
        check("all thought", true, "all thought", "");
        check("<think>a</think>", false, "a", "");
    }

    @Test
    void templatesThatUseTags() {
        assertThat(ReasoningSplit.usedBy("{% if '</think>' in content %}")).isTrue();
        assertThat(ReasoningSplit.usedBy("{{ messages }}")).isFalse();
        assertThat(ReasoningSplit.usedBy(null)).isFalse();
        assertThat(ReasoningSplit.opens("<|assistant|>\n<think>\n")).isTrue();
        assertThat(ReasoningSplit.opens("<|assistant|>\n")).isFalse();
    }
}
