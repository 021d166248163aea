package dev.genset.engine.grammar;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Regular expressions turned into grammars: whole-text matches, checked against java.util.regex on the same texts. */
class RegexTest {
    static boolean matches(String regex, String text) {
        GrammarConstraint c = GrammarConstraint.of(Regex.grammar(regex));
        return GrammarTest.feedAll(c, text.getBytes(StandardCharsets.UTF_8)) && c.isComplete();
    }

    /** Our verdict on each text equals java.util.regex's full match. */
    static void agrees(String regex, String... texts) {
        agreesAs(regex, regex, texts);
    }

    /** As {@link #agrees}, against {@code java} where Java spells the pattern differently. */
    static void agreesAs(String regex, String java, String... texts) {
        for (String t : texts) assertThat(matches(regex, t)).as("%s on %s", regex, t).isEqualTo(t.matches(java));
    }

    @Test
    void commonPatternsMatchAsJavaRegexDoes() {
        agrees("\\w+@\\w+\\.com\\n", "alan@enigma.com\n", "alan@enigma.com", "alan@enigma.org\n", "@x.com\n", "a_1@b2.com\n");
        agrees("^(\\d{3})-(\\d{4})$", "555-1234", "55-1234", "555-12345", "abc-defg");
        agrees("[A-Z][a-z]*( [A-Z][a-z]*)*", "New York", "New york", "Paris", "", "A B C");
        agrees("(?:yes|no)", "yes", "no", "yesno", "");
        agreesAs("(?P<pick>a|bc)+", "(?<pick>a|bc)+", "abca", "bcbc", "b", "");
        agrees("colou?r", "color", "colour", "colouur");
        agrees("a{2,3}", "a", "aa", "aaa", "aaaa");
        agreesAs("x{,2}y", "x{0,2}y", "y", "xy", "xxy", "xxxy");
        agrees("a{3,}", "aa", "aaa", "aaaaaa");
        agrees(".+", "anything goes", "two\nlines", "");
        agrees("[^\\n]*", "one line", "two\nlines", "");
        agrees("[\\d.-]+", "3.14", "-2", "1e5");
        agrees("\\S+\\s\\S+", "two words", "two  words", "one");
        agrees("[a-z]+?\\d*+", "abc123", "abc", "123");
        agrees("é+[α-ω]", "ééβ", "eβ");
        agrees("\\(\\d+\\)", "(42)", "42", "(4a)");
        agreesAs("{a}", "\\{a\\}", "{a}", "a");
        agrees("", "", "x");
    }

    /** Random short texts over a small alphabet, so that many of them match: each verdict equals java.util.regex's. */
    @Test
    void randomTextsAreJudgedAsJavaRegexJudgesThem() {
        String[] patterns = {"a*b", "(ab|a)*b?", "[ab]{2,3}c?", "a(b|c)*a", "(a|ab)(c|bcd)?", "[^a]+", "a?b?c?", "(a+|b+)c",
                "x{0,2}(yx)*", "(?:ab){1,}", "[a-c]*c[a-c]", "((a|b)c)*", "a.b", "(a|b|c)*abc"};
        java.util.Random random = new java.util.Random(21);
        String alphabet = "abcxy";
        int checked = 0;
        for (String pattern : patterns) {
            java.util.regex.Pattern reference = java.util.regex.Pattern.compile(pattern);
            Grammar g = Regex.grammar(pattern);
            for (int i = 0; i < 300; i++) {
                StringBuilder t = new StringBuilder();
                for (int k = random.nextInt(9); k > 0; k--) t.append(alphabet.charAt(random.nextInt(alphabet.length())));
                GrammarConstraint c = GrammarConstraint.of(g);
                boolean ours = GrammarTest.feedAll(c, t.toString().getBytes(StandardCharsets.UTF_8)) && c.isComplete();
                assertThat(ours).as("%s on '%s'", pattern, t).isEqualTo(reference.matcher(t).matches());
                checked++;
            }
        }
        assertThat(checked).isEqualTo(patterns.length * 300);
    }

    @Test
    void unsupportedOrBrokenPatternsSayWhy() {
        assertError("(?=a)b", "lookarounds");
        assertError("(a)\\1", "back-references");
        assertError("a**", "a quantifier cannot follow another");
        assertError("[z-a]", "character range is reversed");
        assertError("(a", "missing ')'");
        assertError("a)", "unbalanced ')'");
        assertError("\\bword", "the anchor '\\b'");
        assertError("*a", "nothing to repeat");
        assertError("[^\\D]", "negated class escape");
        assertError("a{5000}", "over the limit of 2000");
        assertError("(a?)*", "a repeated part can match the empty text");
        assertError("(".repeat(100_000) + "a" + ")".repeat(100_000), "groups nested more than 256 deep");
    }

    @Test
    void choicesBecomeLiteralAlternatives() {
        String g = "root ::= " + Regex.quote("say \"hi\"") + " | " + Regex.quote("back\\slash") + " | " + Regex.quote("tab\there");
        assertThat(GrammarTest.matches(g, "say \"hi\"")).isTrue();
        assertThat(GrammarTest.matches(g, "back\\slash")).isTrue();
        assertThat(GrammarTest.matches(g, "tab\there")).isTrue();
        assertThat(GrammarTest.matches(g, "say hi")).isFalse();
    }

    static void assertError(String regex, String message) {
        assertThatThrownBy(() -> Regex.grammar(regex)).as(regex).isInstanceOf(GrammarException.class).hasMessageContaining(message);
    }
}
