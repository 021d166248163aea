package dev.genset.eval.task;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads documents from files: plain JSONL, JSON (an array of objects), CSV (a header row) and text (one document {@code text}), and
 * the files the published benchmarks ship, turned into one document shape per benchmark:
 *
 * <ul>
 *   <li>{@code mmlu}: CSV rows {@code question,A,B,C,D,answer} without header, one file per
 *       subject ({@code abstract_algebra_test.csv}) &rarr; {@code question, choices[4], answer}
 *       (index), {@code subject}, {@code subject_name} ("abstract algebra");</li>
 *   <li>{@code ceval}: CSV with header {@code id,question,A,B,C,D,answer[,explanation]}, files
 *       {@code <subject>_val.csv} &rarr; {@code question, A..D, answer} (letter), {@code label}
 *       (index), {@code subject}, {@code subject_zh};</li>
 *   <li>{@code cmmlu}: CSV with header {@code ,Question,A,B,C,D,Answer}, files
 *       {@code test/<subject>.csv} &rarr; the same shape as C-Eval;</li>
 *   <li>{@code hellaswag}: JSONL {@code ctx_a, ctx_b (or ctx), activity_label, endings, label}
 *       &rarr; {@code query, choices, label}, preprocessed as lm-evaluation-harness does;</li>
 *   <li>{@code arc}: JSONL {@code question.stem, question.choices[].text/label, answerKey} (the
 *       original release) or {@code question, choices.text, choices.label, answerKey} (the Hugging
 *       Face one) &rarr; {@code question, choices.text, choices.label, answerKey};</li>
 *   <li>{@code gsm8k}: JSONL {@code question, answer} (the answer ends with {@code #### n}).</li>
 * </ul>
 *
 * <p>A directory stands for all the files of one split under it: {@code *_<split>.csv} (MMLU,
 * C-Eval) or {@code <split>/*.csv} (CMMLU). Another split of a single file (few-shot examples)
 * is found by the same naming: {@code abstract_algebra_test.csv} &rarr;
 * {@code abstract_algebra_dev.csv}, {@code test/x.csv} &rarr; {@code dev/x.csv},
 * {@code ARC-Easy-Test.jsonl} &rarr; {@code ARC-Easy-Train.jsonl}.
 */
public final class Datasets {
    public static final List<String> FORMATS = List.of("jsonl", "json", "csv", "txt", "mmlu", "ceval", "cmmlu", "hellaswag", "arc", "gsm8k");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SPLIT_WORDS = List.of("test", "dev", "val", "validation", "train");

    private Datasets() {}

    /** The format a file name suggests: its extension. */
    public static String formatOf(Path path) {
        String n = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) return "jsonl";
        if (n.endsWith(".json")) return "json";
        if (n.endsWith(".csv")) return "csv";
        if (n.endsWith(".txt") || n.endsWith(".md")) return "txt";
        throw new IllegalArgumentException("cannot tell the format of " + path.getFileName() + " (name it: jsonl, json or csv)");
    }

    /** The documents of {@code path} (a file, or a directory for the benchmark formats) in {@code format}. */
    public static List<Map<String, Object>> load(String format, Path path, String split) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        String f = format == null ? formatOf(path) : format.toLowerCase(Locale.ROOT);
        List<Path> files = files(f, path, split);
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Path file : files) docs.addAll(loadFile(f, file));
        return docs;
    }

    private static List<Path> files(String format, Path path, String split) throws IOException {
        if (!Files.isDirectory(path)) return List.of(path);
        String s = split == null ? "test" : split;
        try (Stream<Path> walk = Files.walk(path)) {
            List<Path> all = walk.filter(Files::isRegularFile).sorted().toList();
            List<Path> picked = switch (format) {
                case "mmlu", "ceval" -> all.stream().filter(p -> p.getFileName().toString().endsWith("_" + s + ".csv")).toList();
                case "cmmlu" -> all.stream().filter(p -> p.toString().endsWith(".csv") && p.getParent().getFileName().toString().equals(s)).toList();
                default -> throw new IllegalArgumentException("format " + format + " reads a file, not a directory: " + path);
            };
            if (picked.isEmpty()) throw new NoSuchFileException(path + " (no " + format + " files of split '" + s + "' in it)");
            return picked;
        }
    }

    /**
     * The file of another split next to {@code file}: the split word in its name replaced
     * ({@code x_test.csv} &rarr; {@code x_dev.csv}), in the same or a sibling directory, or the same
     * name in a sibling directory named after the split ({@code test/x.csv} &rarr; {@code dev/x.csv}).
     */
    public static Optional<Path> sibling(Path file, String split) {
        if (Files.isDirectory(file)) return Files.isDirectory(file) ? Optional.of(file) : Optional.empty();
        String name = file.getFileName().toString();
        Path dir = file.toAbsolutePath().getParent();
        List<Path> candidates = new ArrayList<>();
        Matcher m = Pattern.compile("(?i)(?<![a-z])(" + String.join("|", SPLIT_WORDS) + ")(?![a-z])").matcher(name);
        while (m.find()) {
            String word = m.group(1);
            String repl = word.equals(word.toUpperCase(Locale.ROOT)) ? split.toUpperCase(Locale.ROOT)
                    : Character.isUpperCase(word.charAt(0)) ? Character.toUpperCase(split.charAt(0)) + split.substring(1) : split;
            String renamed = name.substring(0, m.start(1)) + repl + name.substring(m.end(1));
            if (renamed.equals(name)) continue;
            candidates.add(dir.resolve(renamed));
            if (dir.getParent() != null) {
                candidates.add(dir.getParent().resolve(split).resolve(renamed));
                candidates.add(dir.getParent().resolve(renamed));
            }
        }
        if (dir.getParent() != null && SPLIT_WORDS.contains(dir.getFileName().toString().toLowerCase(Locale.ROOT)))
            candidates.add(dir.getParent().resolve(split).resolve(name));
        return candidates.stream().filter(p -> !p.equals(file.toAbsolutePath()) && Files.isRegularFile(p)).findFirst();
    }

    static List<Map<String, Object>> loadFile(String format, Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        String base = file.getFileName().toString().replaceFirst("\\.[^.]+$", "");
        return parse(format, text, base);
    }

    /** Documents from the text of one file; {@code baseName} is its name without extension (the subject, for MMLU-like files). */
    public static List<Map<String, Object>> parse(String format, String text, String baseName) {
        return switch (format) {
            case "jsonl" -> jsonl(text);
            case "json" -> json(text);
            case "csv" -> csvWithHeader(text);
            case "txt" -> List.of(new LinkedHashMap<>(Map.of("text", text)));
            case "mmlu" -> mmlu(text, baseName);
            case "ceval" -> ceval(text, baseName, true);
            case "cmmlu" -> ceval(text, baseName, false);
            case "hellaswag" -> jsonl(text).stream().map(Datasets::hellaswag).toList();
            case "arc" -> jsonl(text).stream().map(Datasets::arc).toList();
            case "gsm8k" -> jsonl(text).stream().map(Datasets::gsm8k).toList();
            default -> throw new IllegalArgumentException("unknown dataset format '" + format + "' (one of " + String.join(", ", FORMATS) + ")");
        };
    }

    static List<Map<String, Object>> jsonl(String text) {
        List<Map<String, Object>> docs = new ArrayList<>();
        int lineNo = 0;
        for (String line : text.split("\r?\n")) {
            lineNo++;
            if (line.isBlank()) continue;
            try {
                docs.add(JSON.readValue(line, new TypeReference<LinkedHashMap<String, Object>>() {}));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException("line " + lineNo + " is not a JSON object: " + e.getOriginalMessage(), e);
            }
        }
        return docs;
    }

    static List<Map<String, Object>> json(String text) {
        try {
            return JSON.readValue(text, new TypeReference<List<Map<String, Object>>>() {});
        } catch (IOException e) {
            throw new UncheckedIOException("not a JSON array of objects: " + e.getMessage(), e);
        }
    }

    static List<Map<String, Object>> csvWithHeader(String text) {
        List<List<String>> rows = Csv.parse(text);
        if (rows.isEmpty()) return List.of();
        List<String> header = rows.getFirst();
        List<Map<String, Object>> docs = new ArrayList<>();
        for (List<String> row : rows.subList(1, rows.size())) {
            Map<String, Object> doc = new LinkedHashMap<>();
            for (int i = 0; i < header.size(); i++) doc.put(header.get(i), i < row.size() ? row.get(i) : "");
            docs.add(doc);
        }
        return docs;
    }

    private static final List<String> LETTERS = List.of("A", "B", "C", "D");

    static List<Map<String, Object>> mmlu(String text, String baseName) {
        String subject = baseName.replaceFirst("_(test|dev|val|validation|train)$", "");
        List<Map<String, Object>> docs = new ArrayList<>();
        for (List<String> row : Csv.parse(text)) {
            if (row.size() < 6) throw new IllegalArgumentException("an MMLU row has " + row.size() + " fields, not 6 (question, A, B, C, D, answer): " + row);
            if (row.get(0).equalsIgnoreCase("question") && row.get(5).equalsIgnoreCase("answer")) continue; // a header
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("question", row.get(0));
            doc.put("choices", List.of(row.get(1), row.get(2), row.get(3), row.get(4)));
            doc.put("answer", letterIndex(row.get(5).trim()));
            doc.put("subject", subject);
            doc.put("subject_name", subject.replace('_', ' '));
            docs.add(doc);
        }
        return docs;
    }

    static List<Map<String, Object>> ceval(String text, String baseName, boolean ceval) {
        String subject = baseName.replaceFirst("_(test|dev|val|validation|train)$", "");
        List<List<String>> rows = Csv.parse(text);
        if (rows.isEmpty()) return List.of();
        List<String> header = rows.getFirst().stream().map(h -> h.trim().toLowerCase(Locale.ROOT)).toList();
        int q = header.indexOf("question"), ans = header.indexOf("answer"), id = header.indexOf("id");
        if (q < 0 || !header.containsAll(LETTERS.stream().map(l -> l.toLowerCase(Locale.ROOT)).toList()))
            throw new IllegalArgumentException("a " + (ceval ? "C-Eval" : "CMMLU") + " file needs the columns question, A, B, C, D (and answer); found " + rows.getFirst());
        List<Map<String, Object>> docs = new ArrayList<>();
        for (List<String> row : rows.subList(1, rows.size())) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("id", id >= 0 ? row.get(id) : !header.getFirst().isEmpty() ? "" : row.getFirst());
            doc.put("question", row.get(q));
            for (String l : LETTERS) doc.put(l, row.get(header.indexOf(l.toLowerCase(Locale.ROOT))));
            String a = ans >= 0 && ans < row.size() ? row.get(ans).trim() : "";
            doc.put("answer", a);
            doc.put("label", a.isEmpty() ? -1 : letterIndex(a));
            doc.put("subject", subject);
            doc.put("subject_zh", (ceval ? Subjects.CEVAL : Subjects.CMMLU).getOrDefault(subject, subject.replace('_', ' ')));
            docs.add(doc);
        }
        return docs;
    }

    private static int letterIndex(String letter) {
        int i = LETTERS.indexOf(letter.toUpperCase(Locale.ROOT));
        if (i < 0) throw new IllegalArgumentException("answer '" + letter + "' is not one of A, B, C, D");
        return i;
    }

    /** lm-evaluation-harness's HellaSwag preprocessing. */
    static Map<String, Object> hellaswag(Map<String, Object> raw) {
        String ctx;
        if (raw.containsKey("ctx_a")) ctx = str(raw.get("ctx_a")) + " " + capitalize(str(raw.get("ctx_b")));
        else ctx = str(raw.get("ctx"));
        String label = str(raw.get("activity_label"));
        Map<String, Object> doc = new LinkedHashMap<>(raw);
        doc.put("query", hellaswagClean(label.isEmpty() ? ctx : label + ": " + ctx));
        Object endings = raw.get("endings");
        if (!(endings instanceof List<?> list)) throw new IllegalArgumentException("a HellaSwag row needs a list 'endings'");
        doc.put("choices", list.stream().map(e -> hellaswagClean(str(e))).toList());
        Object gold = raw.get("label");
        doc.put("label", gold == null || str(gold).isEmpty() ? -1 : Integer.parseInt(str(gold).trim()));
        return doc;
    }

    static String hellaswagClean(String text) {
        text = text.strip();
        text = text.replace(" [title]", ". ");
        text = text.replaceAll("\\[.*?\\]", "");
        text = text.replace("  ", " ");
        return text;
    }

    /** Python's str.capitalize: the first character upper case, the rest lower case. */
    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        return s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    static Map<String, Object> arc(Map<String, Object> raw) {
        Map<String, Object> doc = new LinkedHashMap<>(raw);
        Object q = raw.get("question");
        if (q instanceof Map<?, ?> qm) { // the original release: question.stem, question.choices[]
            doc.put("question", str(qm.get("stem")));
            List<String> texts = new ArrayList<>(), labels = new ArrayList<>();
            if (qm.get("choices") instanceof List<?> cs)
                for (Object c : cs)
                    if (c instanceof Map<?, ?> cm) {
                        texts.add(str(cm.get("text")));
                        labels.add(str(cm.get("label")));
                    }
            doc.put("choices", Map.of("text", texts, "label", labels));
        } else if (!(raw.get("choices") instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("an ARC row needs question.stem and question.choices, or question and choices.text/label");
        }
        doc.put("answerKey", str(raw.get("answerKey")).trim());
        return doc;
    }

    static Map<String, Object> gsm8k(Map<String, Object> raw) {
        if (!raw.containsKey("question") || !raw.containsKey("answer")) throw new IllegalArgumentException("a GSM8K row needs question and answer");
        return raw;
    }

    static String str(Object o) {
        return o == null ? "" : o.toString();
    }
}
