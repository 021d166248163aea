package dev.genset.engine.grammar;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Masking a real vocabulary (LLaMA's 32,000 SentencePiece tokens, with byte tokens): the trie walk against each token tried alone. */
class GrammarConstraintTest {
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        try (GgufFile gguf = GgufFile.open(Path.of(System.getProperty("genset.repo", "."), "src/test/resources/tokenizers/ggml-vocab-llama-spm.gguf"))) {
            tokenizer = Tokenizer.fromGguf(gguf);
        }
    }

    static final String JSON = "root ::= object\n" + GrammarTest.JSON_RULES;

    /** The tokens the mask allows, and the same found by trying each token's bytes alone. */
    static void assertMaskAgrees(String grammar, String prefix) {
        GrammarConstraint c = (GrammarConstraint) GrammarConstraint.factory(tokenizer, Grammar.parse(grammar)).get();
        assertThat(c.feed(prefix.getBytes(StandardCharsets.UTF_8))).as("prefix %s", prefix).isTrue();
        int n = tokenizer.vocabSize();
        float[] logits = new float[n];
        c.mask(new float[n], n); // the second mask at a place comes from the constraint's cache of masks
        c.mask(logits, n);
        List<Integer> masked = new ArrayList<>(), tried = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            if (logits[id] == 0) masked.add(id);
            byte[] piece = tokenizer.tokenBytes(id);
            boolean ok = tokenizer.isEndOfGeneration(id) ? c.isComplete() : piece.length > 0 && piece[0] != 0 && c.allows(piece);
            if (ok) tried.add(id);
        }
        assertThat(masked).as("%s after %s", grammar, prefix).isEqualTo(tried).isNotEmpty();
    }

    /** The token whose text is exactly {@code text}. */
    static int token(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        for (int id = 0; id < tokenizer.vocabSize(); id++) if (java.util.Arrays.equals(tokenizer.tokenBytes(id), b)) return id;
        throw new AssertionError("no token '" + text + "'");
    }

    @Test
    void theTrieWalkAllowsExactlyTheTokensThatFit() {
        assertMaskAgrees(JSON, "");
        assertMaskAgrees(JSON, "{\"na");
        assertMaskAgrees(JSON, "{\"name\": ");
        assertMaskAgrees(JSON, "{\"name\": 12");
        assertMaskAgrees(JSON, "{\"a\": [true, ");
        assertMaskAgrees(JSON, "{}");
        assertMaskAgrees("root ::= [a-z ]+ \".\"", "once upon");
        assertMaskAgrees("root ::= \"Día \" [0-9]+", "D");
        assertMaskAgrees("root ::= [^a-z]*", "");
        assertMaskAgrees("root ::= \"日本\" | \"中文\"", "");
    }

    @Test
    void aPartialCharacterIsAllowedOnlyWhereItCanBeFinished() {
        // "é" is C3 A9: after its first byte (a byte token) only the tokens that finish it (here, byte token <0xA9>) may come
        GrammarConstraint c = (GrammarConstraint) GrammarConstraint.factory(tokenizer, Grammar.parse("root ::= \"é\" \"!\"")).get();
        assertThat(c.feed(new byte[] {(byte) 0xC3})).isTrue();
        int n = tokenizer.vocabSize();
        float[] logits = new float[n];
        c.mask(logits, n);
        List<Integer> allowed = new ArrayList<>();
        for (int id = 0; id < n; id++) if (logits[id] == 0) allowed.add(id);
        assertThat(allowed).hasSize(1);
        assertThat(tokenizer.tokenBytes(allowed.getFirst())).containsExactly((byte) 0xA9);
        assertMaskAgrees("root ::= \"é\" \"!\"", "");
    }

    @Test
    void endOfGenerationOnlyOnceTheSentenceIsWhole() {
        int eos = tokenizer.eos();
        TokenConstraint c = GrammarConstraint.factory(tokenizer, Grammar.parse("root ::= \"yes\" | \"yes sir\"")).get();
        float[] logits = new float[tokenizer.vocabSize()];
        c.mask(logits, logits.length);
        assertThat(logits[eos]).isEqualTo(Float.NEGATIVE_INFINITY);
        c.accept(token("yes"));
        logits = new float[tokenizer.vocabSize()];
        c.mask(logits, logits.length);
        assertThat(logits[eos]).isZero();
        int allowed = 0;
        for (float l : logits) if (l == 0) allowed++;
        assertThat(allowed).as("end of text, or the start of ' sir'").isGreaterThan(1);
        c.accept(token(" sir"));
        logits = new float[tokenizer.vocabSize()];
        c.mask(logits, logits.length);
        for (int id = 0; id < logits.length; id++) assertThat(logits[id] == 0).as("token %d", id).isEqualTo(id == eos);
    }

    @Test
    void aTokenTheMaskRefusedBreaksTheConstraint() {
        TokenConstraint c = GrammarConstraint.factory(tokenizer, Grammar.parse("root ::= [0-9]+")).get();
        int letter = token("x");
        assertThatThrownBy(() -> c.accept(letter)).isInstanceOf(IllegalStateException.class).hasMessageContaining("breaks the grammar");
    }

    @Test
    void maskingTheWholeVocabularyIsQuick() {
        byte[] prefix = "{\"story\": \"Once upon a time".getBytes(StandardCharsets.UTF_8);
        Grammar json = Grammar.parse(JSON);
        float[] logits = new float[tokenizer.vocabSize()];
        long walk = Long.MAX_VALUE, cached = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            GrammarConstraint c = (GrammarConstraint) GrammarConstraint.factory(tokenizer, json).get();
            c.feed(prefix);
            long t0 = System.nanoTime();
            c.mask(logits, logits.length); // a new place: the walk over the trie
            long t1 = System.nanoTime();
            c.feed(" and".getBytes(StandardCharsets.UTF_8)); // inside the string still: the same place again
            c.mask(logits, logits.length);
            long t2 = System.nanoTime();
            walk = Math.min(walk, t1 - t0);
            cached = Math.min(cached, t2 - t1);
        }
        // inside a string nearly every token fits, so the walk visits nearly the whole trie: the slow case
        System.out.printf("grammar mask, 32,000 tokens inside a JSON string: walk %.2f ms, again at the same place %.3f ms (best of 20)%n",
                walk / 1e6, cached / 1e6);
        assertThat(walk).as("nanoseconds").isLessThan(500_000_000L);
        assertThat(cached).as("nanoseconds").isLessThan(walk);
    }
}
