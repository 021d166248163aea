package dev.genset.engine.tokenizer;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One stage of a BPE pre-tokenizer: cuts each piece of the text into smaller pieces, keeping every
 * codepoint (text between matches becomes a piece of its own), as llama.cpp's unicode_regex_split.
 * Pieces are measured in codepoints.
 */
sealed interface Splitter {

    /** Appends to {@code out} the lengths of the pieces covering codepoints [start, end). */
    void split(Text text, int start, int end, IntList out);

    /**
     * The splitter for one expression of llama.cpp's list. Expressions llama.cpp runs with a
     * hand-written matcher get the same matcher here (its results differ from a regex engine's in
     * corner cases, and those results are what the models are tested against); the rest run on
     * java.util.regex with llama.cpp's category collapsing.
     */
    static Splitter of(String regex) {
        return switch (regex) {
            case Patterns.GPT2 -> new WordSplitter(WordSplitter.Style.GPT2, 0);
            case Patterns.LLAMA3, Patterns.LLAMA3_ORIGINAL -> new WordSplitter(WordSplitter.Style.LLAMA3, 3);
            case Patterns.QWEN2 -> new WordSplitter(WordSplitter.Style.LLAMA3, 1);
            case Patterns.QWEN35 -> new WordSplitter(WordSplitter.Style.LLAMA3_MARKS, 1);
            case Patterns.DIGIT_GROUPS, Patterns.TINY_AYA_DIGITS -> new DigitGroupSplitter();
            case Patterns.NEWLINES -> new NewlineSplitter();
            case Patterns.TRIPLES_FROM_THE_RIGHT -> new TriplesFromTheRightSplitter();
            default -> RegexSplitter.compile(regex);
        };
    }

    /** The text being split, with the derived forms regex stages need, built once per text. */
    final class Text {
        final int[] cps;
        private String collapsed;
        private String wide;
        private int[] wideCharToCp; // null when the wide string has no surrogate pairs
        private final java.util.Map<Pattern, Matcher> matchers = new java.util.HashMap<>();

        Text(int[] cps) {
            this.cps = cps;
        }

        int flagsAt(int i, int start, int end) {
            return i >= start && i < end ? Unicode.flags(cps[i]) : 0;
        }

        int cpAt(int i, int start, int end) {
            return i >= start && i < end ? cps[i] : -1;
        }

        /**
         * One char per codepoint: ASCII as is, other whitespace as U+000B, and every other
         * codepoint as a marker char for its category, so category classes become plain classes.
         */
        String collapsed() {
            if (collapsed == null) {
                char[] c = new char[cps.length];
                for (int i = 0; i < cps.length; i++) c[i] = collapse(cps[i]);
                collapsed = new String(c);
            }
            return collapsed;
        }

        /** The codepoints as a string, with non-ASCII whitespace as U+000B (regex \s is ASCII-only). */
        String wide() {
            if (wide == null) {
                StringBuilder sb = new StringBuilder(cps.length);
                boolean supplementary = false;
                for (int cp : cps) {
                    if (cp > 0x7F && Unicode.isWhitespace(cp)) cp = 0x0B;
                    supplementary |= cp > 0xFFFF;
                    sb.appendCodePoint(cp);
                }
                wide = sb.toString();
                if (supplementary) {
                    wideCharToCp = new int[wide.length() + 1];
                    int ci = 0;
                    for (int i = 0; i < cps.length; i++) {
                        wideCharToCp[ci++] = i;
                        if (cps[i] > 0xFFFF) wideCharToCp[ci++] = i;
                    }
                    wideCharToCp[ci] = cps.length;
                }
            }
            return wide;
        }

        /** One matcher per expression and text, reused for all its pieces. */
        Matcher matcher(Pattern pattern, String s) {
            return matchers.computeIfAbsent(pattern, p -> p.matcher(s));
        }

        int wideCharIndex(int cpIndex) {
            if (wideCharToCp == null) return cpIndex;
            int lo = Arrays.binarySearch(wideCharToCp, cpIndex);
            while (lo > 0 && wideCharToCp[lo - 1] == cpIndex) lo--;
            return lo;
        }

        int wideCpIndex(int charIndex) {
            return wideCharToCp == null ? charIndex : wideCharToCp[charIndex];
        }
    }

    static char collapse(int cp) {
        if (cp < 0x80) return (char) cp;
        int f = Unicode.flags(cp);
        if ((f & Unicode.WHITESPACE) != 0) return 0x0B;
        return switch (f & ~Unicode.WHITESPACE) {
            case Unicode.NUMBER -> Collapsed.NUMBER;
            case Unicode.LETTER -> Collapsed.LETTER;
            case Unicode.PUNCTUATION -> Collapsed.PUNCTUATION;
            case Unicode.MARK -> Collapsed.MARK;
            case Unicode.SYMBOL -> Collapsed.SYMBOL;
            default -> Collapsed.OTHER;
        };
    }

    /** Marker chars of the collapsed text and what each category class becomes. */
    final class Collapsed {
        static final char OTHER = '\u00D0', NUMBER = '\u00D1', LETTER = '\u00D2', PUNCTUATION = '\u00D3', MARK = '\u00D4', SYMBOL = '\u00D5';

        /** Class body for a category: its marker plus the ASCII members llama.cpp lists (no '~' among symbols). */
        static String classBody(String category) {
            return switch (category) {
                case "N" -> NUMBER + "0-9";
                case "L", "Lu", "Ll", "Lt", "Lm", "Lo" -> LETTER + "A-Za-z";
                case "P" -> PUNCTUATION + "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";
                case "M" -> String.valueOf(MARK);
                case "S" -> SYMBOL + "\\$\\+<->\\^`\\|";
                default -> null;
            };
        }
    }

    /**
     * The GPT-2, Llama 3, Qwen 2 and Qwen 3.5 expressions, matched by hand the way llama.cpp does.
     * GPT2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+};
     * LLAMA3: case-insensitive contractions, {@code [^\r\n\p{L}\p{N}]?\p{L}+}, numbers in runs of
     * at most {@code maxDigits}, {@code ?[^\s\p{L}\p{N}]+[\r\n]*}, {@code \s*[\r\n]+}, then the
     * whitespace rules; LLAMA3_MARKS also lets letter runs take combining marks.
     */
    record WordSplitter(Style style, int maxDigits) implements Splitter {
        enum Style { GPT2, LLAMA3, LLAMA3_MARKS }

        @Override
        public void split(Text t, int start, int end, IntList out) {
            int[] cp = t.cps;
            boolean gpt2 = style == Style.GPT2;
            int wordClass = style == Style.LLAMA3_MARKS ? Unicode.LETTER | Unicode.MARK : Unicode.LETTER;
            int notPunct = Unicode.WHITESPACE | Unicode.NUMBER | wordClass;
            int prev = start;
            int pos = start;
            while (pos < end) {
                int c = cp[pos];
                int f = t.flagsAt(pos, start, end);

                if (c == '\'' && pos + 1 < end) {
                    int n1 = gpt2 ? cp[pos + 1] : Character.toLowerCase(cp[pos + 1]);
                    if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                        pos += 2;
                        prev = emit(out, prev, pos);
                        continue;
                    }
                    if (pos + 2 < end) {
                        int n2 = gpt2 ? cp[pos + 2] : Character.toLowerCase(cp[pos + 2]);
                        if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
                            pos += 3;
                            prev = emit(out, prev, pos);
                            continue;
                        }
                    }
                }

                if (gpt2) {
                    // " ?" prefix, then a run of letters, of numbers, or of anything else but whitespace
                    int f2 = c == ' ' ? t.flagsAt(pos + 1, start, end) : f;
                    int runClass = (f2 & Unicode.LETTER) != 0 ? Unicode.LETTER
                            : (f2 & Unicode.NUMBER) != 0 ? Unicode.NUMBER
                            : (f2 & (Unicode.WHITESPACE | Unicode.LETTER | Unicode.NUMBER)) == 0 && f2 != 0 ? -1 : 0;
                    if (runClass != 0) {
                        if (c == ' ') pos++;
                        while (true) {
                            int g = t.flagsAt(pos, start, end);
                            boolean inRun = runClass > 0 ? (g & runClass) != 0 : g != 0 && (g & (Unicode.WHITESPACE | Unicode.LETTER | Unicode.NUMBER)) == 0;
                            if (!inRun) break;
                            pos++;
                        }
                        prev = emit(out, prev, pos);
                        continue;
                    }
                } else {
                    // [^\r\n\p{L}\p{N}]?\p{L}+
                    if (!(c == '\r' || c == '\n' || (f & Unicode.NUMBER) != 0)
                            && ((f & wordClass) != 0 || (t.flagsAt(pos + 1, start, end) & wordClass) != 0)) {
                        pos++;
                        while ((t.flagsAt(pos, start, end) & wordClass) != 0) pos++;
                        prev = emit(out, prev, pos);
                        continue;
                    }
                    // \p{N}{1,maxDigits}
                    if ((f & Unicode.NUMBER) != 0) {
                        int runStart = pos;
                        while ((t.flagsAt(pos, start, end) & Unicode.NUMBER) != 0) {
                            if (++pos - runStart >= maxDigits) {
                                prev = emit(out, prev, pos);
                                runStart = pos;
                            }
                        }
                        prev = emit(out, prev, pos);
                        continue;
                    }
                    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
                    int f2 = c == ' ' ? t.flagsAt(pos + 1, start, end) : f;
                    if ((f2 & notPunct) == 0 && f != 0) {
                        if (c == ' ') pos++;
                        while (true) {
                            int g = t.flagsAt(pos, start, end);
                            if (g == 0 || (g & notPunct) != 0) break;
                            pos++;
                        }
                        while (t.cpAt(pos, start, end) == '\r' || t.cpAt(pos, start, end) == '\n') pos++;
                        prev = emit(out, prev, pos);
                        continue;
                    }
                }

                int spaces = 0;
                int afterLastNewline = -1;
                while ((t.flagsAt(pos + spaces, start, end) & Unicode.WHITESPACE) != 0) {
                    int w = cp[pos + spaces];
                    if (w == '\r' || w == '\n') afterLastNewline = pos + spaces + 1;
                    spaces++;
                }
                if (!gpt2 && afterLastNewline >= 0) {
                    pos = afterLastNewline;                 // \s*[\r\n]+
                } else if (spaces > 1 && pos + spaces < end) {
                    pos += spaces - 1;                      // \s+(?!\S): leave the last one to the next word
                } else if (spaces > 0) {
                    pos += spaces;                          // \s+
                } else {
                    pos++;                                  // nothing matched: a piece of one codepoint
                }
                prev = emit(out, prev, pos);
            }
        }

        private static int emit(IntList out, int prev, int end) {
            if (end > prev) out.add(end - prev);
            return end;
        }
    }

    /**
     * AFMoE's digit grouping (also used for tiny_aya's {@code \d{1,3}(?=(?:\d{3})*\b)}): a run of n
     * digits is cut into n % 3 leading digits and then threes. As in llama.cpp, the text before a
     * run is not cut off here but joins the run's first group; later stages separate it.
     */
    record DigitGroupSplitter() implements Splitter {
        @Override
        public void split(Text t, int start, int end, IntList out) {
            int prev = start;
            int pos = start;
            while (pos < end) {
                if ((t.flagsAt(pos, start, end) & Unicode.NUMBER) == 0) {
                    pos++;
                    continue;
                }
                int runStart = pos;
                while (pos < end && (t.flagsAt(pos, start, end) & Unicode.NUMBER) != 0) pos++;
                int cursor = runStart + (pos - runStart) % 3;
                if (cursor > runStart) {
                    out.add(cursor - prev);
                    prev = cursor;
                }
                while (cursor < pos) {
                    cursor += 3;
                    out.add(cursor - prev);
                    prev = cursor;
                }
            }
            if (prev < end) out.add(end - prev);
        }
    }

    /**
     * SuperBPE's {@code (?=(\d{3})+(?!\d))}: an empty match, so a cut, wherever the ASCII digits
     * from there to the end of their run number a positive multiple of three. A regex engine
     * rescans the run at every position (quadratic); this finds the same cuts in one pass.
     */
    record TriplesFromTheRightSplitter() implements Splitter {
        @Override
        public void split(Text t, int start, int end, IntList out) {
            int prev = start;
            int pos = start;
            while (pos < end) {
                if (!isAsciiDigit(t.cps[pos])) {
                    pos++;
                    continue;
                }
                int runEnd = pos;
                while (runEnd < end && isAsciiDigit(t.cps[runEnd])) runEnd++;
                for (int cut = pos + (runEnd - pos) % 3; cut <= runEnd - 3; cut += 3) {
                    if (cut > prev) {
                        out.add(cut - prev);
                        prev = cut;
                    }
                }
                pos = runEnd;
            }
            if (end > prev) out.add(end - prev);
        }

        private static boolean isAsciiDigit(int cp) {
            return cp >= '0' && cp <= '9';
        }
    }

    /** {@code [^\n]+|[\n]+}: runs of newlines and runs of everything else. */
    record NewlineSplitter() implements Splitter {
        @Override
        public void split(Text t, int start, int end, IntList out) {
            int pos = start;
            while (pos < end) {
                boolean newline = t.cps[pos] == '\n';
                int runStart = pos;
                while (pos < end && (t.cps[pos] == '\n') == newline) pos++;
                out.add(pos - runStart);
            }
        }
    }

    /**
     * A general expression, run as llama.cpp runs it with std::regex (ECMAScript): if it uses
     * category classes (\p{L}, \p{N}, ...), on the collapsed text with each class replaced by its
     * marker char and ASCII members; otherwise on the codepoints with non-ASCII whitespace turned
     * into U+000B. Region bounds are opaque, as each piece is matched on its own.
     */
    record RegexSplitter(Pattern pattern, boolean collapsed) implements Splitter {
        private static final Set<String> CATEGORIES = Set.of("N", "L", "P", "M", "S", "Lu", "Ll", "Lt", "Lm", "Lo");

        /**
         * Equivalent forms of sub-expressions that java.util.regex would otherwise match with one
         * stack frame per character (overflowing on long words). Each stands at the end of an
         * alternative, so making its loop possessive changes nothing.
         */
        private static final Map<String, String> ITERATIVE_FORMS = Map.of(
                "(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+", "\\p{L}(?:[\\p{L}\\p{M}]| (?=\\p{L}))*+");

        static RegexSplitter compile(String regex) {
            String iterative = regex;
            for (Map.Entry<String, String> e : ITERATIVE_FORMS.entrySet()) iterative = iterative.replace(e.getKey(), e.getValue());
            return compileVerbatim(iterative);
        }

        static RegexSplitter compileVerbatim(String regex) {
            boolean collapse = CATEGORIES.stream().anyMatch(c -> regex.contains("\\p{" + c + "}"));
            if (collapse && regex.chars().anyMatch(ch -> ch >= 0x80))
                throw new TokenizerException("pre-tokenizer expression mixes category classes with non-ASCII characters: " + regex);
            String javaRegex = toJava(collapse ? collapseClasses(regex) : regex);
            return new RegexSplitter(Pattern.compile(javaRegex), collapse);
        }

        /** Replaces each category class with its collapsed class (bracketed unless already inside brackets). */
        private static String collapseClasses(String regex) {
            StringBuilder sb = new StringBuilder();
            boolean inside = false;
            for (int i = 0; i < regex.length(); i++) {
                char ch = regex.charAt(i);
                boolean escaped = i > 0 && regex.charAt(i - 1) == '\\';
                if (ch == '[' && !escaped) {
                    inside = true;
                    sb.append(ch);
                    continue;
                }
                if (ch == ']' && inside && !escaped) {
                    inside = false;
                    sb.append(ch);
                    continue;
                }
                if (ch == '\\' && i + 3 < regex.length() && regex.charAt(i + 1) == 'p' && regex.charAt(i + 2) == '{') {
                    int close = regex.indexOf('}', i + 3);
                    String body = close < 0 ? null : Collapsed.classBody(regex.substring(i + 3, close));
                    if (body != null) {
                        sb.append(inside ? body : "[" + body + "]");
                        i = close;
                        continue;
                    }
                }
                sb.append(ch);
            }
            return sb.toString();
        }

        /**
         * ECMAScript to java.util.regex: '$' means end of input only, and inside a class '[' is a
         * literal and '&&' is not an intersection.
         */
        private static String toJava(String regex) {
            StringBuilder sb = new StringBuilder();
            boolean inside = false;
            for (int i = 0; i < regex.length(); i++) {
                char ch = regex.charAt(i);
                if (ch == '\\' && i + 1 < regex.length()) {
                    sb.append(ch).append(regex.charAt(++i));
                } else if (inside) {
                    if (ch == ']') inside = false;
                    if (ch == '[' || (ch == '&' && i + 1 < regex.length() && regex.charAt(i + 1) == '&')) sb.append('\\');
                    sb.append(ch);
                } else if (ch == '[') {
                    inside = true;
                    sb.append(ch);
                    if (i + 1 < regex.length() && regex.charAt(i + 1) == '^') sb.append(regex.charAt(++i));
                } else if (ch == '$') {
                    sb.append("\\z");
                } else {
                    sb.append(ch);
                }
            }
            return sb.toString();
        }

        private boolean find(Matcher m) {
            try {
                return m.find();
            } catch (StackOverflowError e) {
                throw new TokenizerException("text too long for the pre-tokenizer expression " + pattern.pattern());
            }
        }

        @Override
        public void split(Text t, int start, int end, IntList out) {
            String s;
            int from, to;
            if (collapsed) {
                s = t.collapsed();
                from = start;
                to = end;
            } else {
                s = t.wide();
                from = t.wideCharIndex(start);
                to = t.wideCharIndex(end);
            }
            Matcher m = t.matcher(pattern, s).region(from, to);
            int last = start;
            while (find(m)) {
                int ms = collapsed ? m.start() : t.wideCpIndex(m.start());
                int me = collapsed ? m.end() : t.wideCpIndex(m.end());
                if (ms > last) out.add(ms - last);
                if (me > ms) out.add(me - ms);
                last = me;
            }
            if (last < end) out.add(end - last);
        }
    }
}
