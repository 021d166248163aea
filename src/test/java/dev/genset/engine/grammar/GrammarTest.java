package dev.genset.engine.grammar;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** GBNF parsing and matching, text fed directly (no vocabulary). */
class GrammarTest {
    /** Whether {@code text} is a sentence of the grammar. */
    static boolean matches(String grammar, String text) {
        GrammarConstraint c = GrammarConstraint.of(Grammar.parse(grammar));
        return feedAll(c, text.getBytes(StandardCharsets.UTF_8)) && c.isComplete();
    }

    /** Whether {@code text} begins some sentence of the grammar. */
    static boolean begins(String grammar, String text) {
        return feedAll(GrammarConstraint.of(Grammar.parse(grammar)), text.getBytes(StandardCharsets.UTF_8));
    }

    /** Feeds byte by byte, so characters are split across calls as byte tokens split them. */
    static boolean feedAll(GrammarConstraint c, byte[] bytes) {
        for (byte b : bytes) if (b != 0 && !c.feed(new byte[] {b})) return false;
        return true;
    }

    @Test
    void alternativesAndLiterals() {
        String g = "root ::= \"yes\" | \"no\"";
        assertThat(matches(g, "yes")).isTrue();
        assertThat(matches(g, "no")).isTrue();
        assertThat(matches(g, "ye")).isFalse();
        assertThat(begins(g, "ye")).isTrue();
        assertThat(begins(g, "yep")).isFalse();
        assertThat(begins(g, "yes!")).isFalse();
        assertThat(begins(g, "maybe")).isFalse();
    }

    @Test
    void classesRulesAndRepetitions() {
        String g = """
                # an address of lower-case words
                root   ::= word "@" word ("." tld)+
                word   ::= [a-z0-9_-]+
                tld    ::= "com" | "org"
                """;
        assertThat(matches(g, "ada@example.com")).isTrue();
        assertThat(matches(g, "a-b_c@x.org.com")).isTrue();
        assertThat(matches(g, "ada@example")).isFalse();
        assertThat(begins(g, "ada@example")).isTrue();
        assertThat(begins(g, "Ada")).isFalse();
        assertThat(begins(g, "ada@@")).isFalse();
        assertThat(matches(g, "ada@example.net")).isFalse();
    }

    @Test
    void countedRepetitions() {
        String g = "root ::= [0-9]{2,4}";
        assertThat(matches(g, "1")).isFalse();
        assertThat(begins(g, "1")).isTrue();
        assertThat(matches(g, "12")).isTrue();
        assertThat(matches(g, "1234")).isTrue();
        assertThat(begins(g, "12345")).isFalse();
        assertThat(matches("root ::= \"ab\"{3}", "ababab")).isTrue();
        assertThat(begins("root ::= \"ab\"{3}", "abababa")).isFalse();
        assertThat(matches("root ::= \"a\"{2,} \"b\"", "ab")).isFalse();
        assertThat(matches("root ::= \"a\"{2,} \"b\"", "aaaaab")).isTrue();
        assertThat(matches("root ::= \"a\"? \"b\"*", "")).isTrue();
        assertThat(matches("root ::= \"a\"? \"b\"*", "abbb")).isTrue();
        assertThat(begins("root ::= \"a\"? \"b\"*", "aab")).isFalse();
        assertThat(matches("root ::= ( \"x\" | \"y\" ){0,3} \"!\"", "xyx!")).isTrue();
        assertThat(begins("root ::= ( \"x\" | \"y\" ){0,3} \"!\"", "xyxy")).isFalse();
    }

    @Test
    void escapesNegationAndAnyCharacter() {
        String quoted = "root ::= \"\\\"\" ( [^\"\\\\] | \"\\\\\" [\"\\\\n] )* \"\\\"\"";
        assertThat(matches(quoted, "\"plain\"")).isTrue();
        assertThat(matches(quoted, "\"say \\\"hi\\\"\\n\"")).isTrue();
        assertThat(begins(quoted, "\"a\"b")).isFalse();
        assertThat(begins(quoted, "\"\\x")).isFalse();
        assertThat(matches("root ::= \"\\x41\\u00e9\\U0001F600\\t\"", "Aé😀\t")).isTrue();
        assertThat(matches("root ::= [\\x30-\\x39]", "7")).isTrue();
        assertThat(matches("root ::= \"<\" . \">\"", "<é>")).isTrue();
        assertThat(matches("root ::= \"<\" . \">\"", "<ab>")).isFalse();
        assertThat(matches("root ::= [^a-c]", "d")).isTrue();
        assertThat(matches("root ::= [^a-c]", "b")).isFalse();
    }

    @Test
    void rulesSpanLinesInsideParenthesesAndAfterBars() {
        String g = """
                root ::= (
                    "a"   # first
                  | "b"
                ) "c" |
                  "d"
                """;
        assertThat(matches(g, "ac")).isTrue();
        assertThat(matches(g, "bc")).isTrue();
        assertThat(matches(g, "d")).isTrue();
        assertThat(matches(g, "a")).isFalse();
    }

    @Test
    void multiByteCharactersSplitAcrossTokens() {
        byte[] e = "é".getBytes(StandardCharsets.UTF_8); // C3 A9
        GrammarConstraint c = GrammarConstraint.of(Grammar.parse("root ::= \"é\""));
        assertThat(c.feed(new byte[] {e[0]})).isTrue();
        assertThat(c.isComplete()).isFalse();
        assertThat(c.feed(new byte[] {e[1]})).isTrue();
        assertThat(c.isComplete()).isTrue();

        // a first byte no allowed character starts with is refused at once
        assertThat(GrammarConstraint.of(Grammar.parse("root ::= [a-z]")).feed(new byte[] {e[0]})).isFalse();
        // a negated class allows a first byte that other characters than the excluded one start with (ä is C3 A4)
        GrammarConstraint n = GrammarConstraint.of(Grammar.parse("root ::= [^é]"));
        assertThat(n.feed(new byte[] {e[0]})).isTrue();
        assertThat(n.feed(new byte[] {e[1]})).isFalse();
        assertThat(n.feed(new byte[] {(byte) 0xA4})).isTrue();
        // not UTF-8: a stray continuation byte, an overlong form
        assertThat(GrammarConstraint.of(Grammar.parse("root ::= .")).feed(new byte[] {(byte) 0xA9})).isFalse();
        assertThat(GrammarConstraint.of(Grammar.parse("root ::= .")).feed(new byte[] {(byte) 0xC0, (byte) 0x80})).isFalse();
    }

    /** JSON's rules in GBNF, without a root (strings without escapes, for brevity). */
    static final String JSON_RULES = """
            value  ::= object | array | string | number | ("true" | "false" | "null")
            object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
            array  ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
            string ::= "\\"" [^"\\\\]* "\\""
            number ::= "-"? [0-9]+ ("." [0-9]+)?
            ws     ::= [ \\n]?
            """;

    @Test
    void aRecursiveGrammar() {
        String json = "root ::= value\n" + JSON_RULES;
        assertThat(matches(json, "{\"a\": [1, 2.5, {\"b\": null}], \"c\": \"d\"}")).isTrue();
        assertThat(matches(json, "[[[[[[[[[[]]]]]]]]]]")).isTrue();
        assertThat(matches(json, "[[[]]")).isFalse();
        assertThat(begins(json, "{\"a\" 1")).isFalse();
        assertThat(begins(json, "{\"a\": tru")).isTrue();
        assertThat(begins(json, "{\"a\": trux")).isFalse();
    }

    @Test
    void repetitionsDoNotDeepenTheStack() {
        // a hundred thousand rounds of a starred group: frames are interned, so a deepening stack would run out of them
        GrammarConstraint c = GrammarConstraint.of(Grammar.parse("root ::= (\"ab\" | \"c\")* \"!\""));
        for (int i = 0; i < 100_000; i++) assertThat(c.feed("abc".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.feed("!".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(c.isComplete()).isTrue();
    }

    @Test
    void anExplodingAmbiguityIsAClearError() {
        // after n a's, 2^n ways to close: the matcher refuses past its bound instead of growing without end
        GrammarConstraint c = GrammarConstraint.of(Grammar.parse("root ::= x\nx ::= \"a\" x \"b\" | \"a\" x \"c\" | \"\""));
        assertThatThrownBy(() -> {
            for (int i = 0; i < 20; i++) c.feed(new byte[] {'a'});
        }).isInstanceOf(GrammarException.class).hasMessageContaining("too ambiguous");
    }

    @Test
    void aMatchersMemoryIsBounded() {
        // every position in nested counted repetitions is a state of its own: past the bound, a clear error instead of more memory
        GrammarConstraint c = GrammarConstraint.of(Grammar.parse("root ::= (\"a\"{0,1000} \"b\"){0,1000}"));
        byte[] round = ("a".repeat(500) + "b").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> {
            for (int i = 0; i < 200; i++) assertThat(c.feed(round)).isTrue();
        }).isInstanceOf(GrammarException.class).hasMessageContaining("distinct states");
    }

    @Test
    void syntaxErrorsSayWhatAndWhere() {
        assertError("root ::= \"a\"\nroot2 = \"b\"", "expected '::=' after the rule name 'root2' at line 2, column 7");
        assertError("root ::= \"abc", "unterminated string literal at line 1, column 14");
        assertError("root ::= \"\\q\"", "unknown escape '\\q' at line 1, column 11");
        assertError("root ::= [a-", "unterminated character class");
        assertError("root ::= []", "empty character class");
        assertError("root ::= [z-a]", "character range is reversed");
        assertError("root ::= \"a\"{3,2}", "maximum below its minimum");
        assertError("root ::= \"a\"{5000}", "repetition count 5000 is over the limit of 2000");
        assertError("root ::= * \"a\"", "'*' must follow an item to repeat");
        assertError("root ::= <[42]>", "token references");
        assertError("root ::= (\"a\" | \"b\"", "expected ')' before the end");
        assertError("root ::= \"a\" )", "expected the end of the line after rule 'root', found ')'");
        assertError("root ::= \"\\x4\"", "expected 2 hex digits");
        assertError("root ::= \"a\"\nroot ::= \"b\"", "rule 'root' is defined twice");
        assertError("root ::= " + "(".repeat(100_000) + "\"a\"" + ")".repeat(100_000), "groups nested more than 256 deep");
    }

    @Test
    void undefinedRulesAMissingRootAndLeftRecursionAreRefused() {
        assertError("root ::= greeting \" world\"", "undefined rule 'greeting'");
        assertError("start ::= \"a\"", "the grammar has no 'root' rule");
        assertError("root ::= root \"a\" | \"a\"", "rule 'root' is left-recursive");
        assertError("root ::= x\nx ::= y \"a\"\ny ::= \"b\"? x", "left-recursive");
        // a repetition of something that can be empty is left recursion in disguise
        assertError("root ::= (\"a\"?)*", "left-recursive");
        // right recursion is fine
        assertThat(matches("root ::= \"a\" root | \"b\"", "aaab")).isTrue();
    }

    @Test
    void hugeRepetitionsAreBounded() {
        // nested counts multiply: each level is a rule referenced 2,000 times, so the total stays linear
        Grammar g = Grammar.parse("root ::= ((\"a\"{2000}){2000}){2000}");
        assertThat(g.ruleCount()).isLessThan(10);
        assertThatThrownBy(() -> Grammar.parse("root ::= " + "\"a\"{2000} ".repeat(600)))
                .isInstanceOf(GrammarException.class).hasMessageContaining("too large");
    }

    static void assertError(String grammar, String message) {
        assertThatThrownBy(() -> Grammar.parse(grammar)).as(grammar).isInstanceOf(GrammarException.class).hasMessageContaining(message);
    }
}
