package dev.genset.eval.task;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * A task ready to run: its definition, its documents and few-shot examples, and the prompts built
 * as lm-evaluation-harness builds them: description, then each example's prompt, target delimiter,
 * target and few-shot delimiter, then the document's prompt.
 */
public final class Task {
    private final TaskSpec spec;
    private final List<Map<String, Object>> docs;
    private final List<Map<String, Object>> fewshot;
    private final boolean fewshotIsDocs;

    public Task(TaskSpec spec, List<Map<String, Object>> docs, List<Map<String, Object>> fewshot) {
        this.spec = spec;
        this.docs = List.copyOf(docs);
        this.fewshotIsDocs = fewshot == null || fewshot == docs;
        this.fewshot = fewshotIsDocs ? this.docs : List.copyOf(fewshot);
    }

    /** Reads the task's documents (and few-shot examples, if it uses any). */
    public static Task load(TaskSpec spec) throws IOException {
        if (spec.inlineDocs() != null) return new Task(spec, spec.inlineDocs(), null);
        Map<String, Object> d = spec.dataset();
        String split = TaskSpec.string(d.get("split"), "test");
        String fewSplit = TaskSpec.string(d.get("fewshot_split"), null);
        String format = TaskSpec.string(d.get("format"), null);
        if (d.get("name") != null && d.get("file") == null) {
            DatasetRegistry.Source src = DatasetRegistry.get(d.get("name").toString());
            List<Map<String, Object>> docs = src.documents(split);
            List<Map<String, Object>> few = spec.numFewshot() > 0 && fewSplit != null && !fewSplit.equals(split) ? src.documents(fewSplit) : null;
            return new Task(spec, docs, few);
        }
        String file = TaskSpec.string(d.get("file"), null);
        if (file == null) {
            if (format != null && Datasets.FORMATS.contains(format) && !List.of("jsonl", "json", "csv", "txt").contains(format))
                throw new IllegalArgumentException("task " + spec.name() + " runs the benchmark's own files: name them as " + spec.name() + ":PATH");
            throw new IllegalArgumentException("task " + spec.name() + ": the dataset needs a file or a name");
        }
        if (spec.resourceDir() != null && !Path.of(file).isAbsolute()) {
            List<Map<String, Object>> docs = resource(spec.resourceDir() + file, format);
            String fewFile = TaskSpec.string(d.get("fewshot_file"), null);
            return new Task(spec, docs, fewFile == null ? null : resource(spec.resourceDir() + fewFile, format));
        }
        Path path = resolve(spec, file);
        List<Map<String, Object>> docs = Datasets.load(format, path, split);
        List<Map<String, Object>> few = null;
        if (spec.numFewshot() > 0) {
            String fewFile = TaskSpec.string(d.get("fewshot_file"), null);
            if (fewFile != null) few = Datasets.load(format, resolve(spec, fewFile), fewSplit != null ? fewSplit : split);
            else if (fewSplit != null && !fewSplit.equals(split)) few = fewshotSplit(format, path, fewSplit);
        }
        return new Task(spec, docs, few);
    }

    private static List<Map<String, Object>> fewshotSplit(String format, Path path, String split) throws IOException {
        if (Files.isDirectory(path)) {
            try {
                return Datasets.load(format, path, split);
            } catch (NoSuchFileException e) {
                return null;
            }
        }
        Optional<Path> sibling = Datasets.sibling(path, split);
        return sibling.isPresent() ? Datasets.load(format, sibling.get(), split) : null;
    }

    private static Path resolve(TaskSpec spec, String file) {
        Path p = Path.of(file);
        return p.isAbsolute() || spec.baseDir() == null ? p : spec.baseDir().resolve(p);
    }

    private static List<Map<String, Object>> resource(String name, String format) throws IOException {
        try (InputStream in = Task.class.getResourceAsStream(name)) {
            if (in == null) throw new NoSuchFileException("bundled file " + name);
            String base = name.substring(name.lastIndexOf('/') + 1);
            return Datasets.parse(format != null ? format : Datasets.formatOf(Path.of(base)),
                    new String(in.readAllBytes(), StandardCharsets.UTF_8), base.replaceFirst("\\.[^.]+$", ""));
        }
    }

    public TaskSpec spec() {
        return spec;
    }

    public String name() {
        return spec.name();
    }

    public TaskType type() {
        return spec.type();
    }

    public List<Map<String, Object>> docs() {
        return docs;
    }

    /** The choices of a multiple-choice document. */
    public List<String> choices(Map<String, Object> doc) {
        if (spec.choiceList() != null) return spec.choiceList().stream().map(t -> t.render(doc)).toList();
        Object v = spec.choices().value(doc);
        if (v instanceof List<?> l) return l.stream().map(String::valueOf).toList();
        throw new IllegalArgumentException("task " + spec.name() + ": choices " + spec.choices() + " is not a list for this document");
    }

    /** The index of the right choice: the target as a number, or the choice equal to the target text. */
    public int targetIndex(Map<String, Object> doc, List<String> choices) {
        Object v = spec.target().value(doc);
        if (v instanceof Number n) return check(n.intValue(), choices);
        String s = String.valueOf(v).strip();
        int at = choices.indexOf(s);
        if (at >= 0) return at;
        try {
            return check(Integer.parseInt(s), choices);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("task " + spec.name() + ": target '" + s + "' is neither a choice nor a choice index");
        }
    }

    private int check(int i, List<String> choices) {
        if (i < 0 || i >= choices.size())
            throw new IllegalArgumentException("task " + spec.name() + ": target index " + i + " is outside the " + choices.size() + " choices");
        return i;
    }

    /** The target as text: the right choice (multiple choice) or the reference answer. */
    public String targetText(Map<String, Object> doc) {
        if (spec.type() == TaskType.MULTIPLE_CHOICE) {
            List<String> ch = choices(doc);
            return ch.get(targetIndex(doc, ch));
        }
        Object v = spec.target().value(doc);
        return v instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.getFirst()) : String.valueOf(v);
    }

    /**
     * The contexts of the documents, in order, with {@code k} few-shot examples each, drawn
     * per the task's sampler: the first {@code k} examples, or a seeded random sample (one
     * generator for the whole task, documents in order, never the document itself).
     */
    public List<String> contexts(List<Map<String, Object>> forDocs, int k) {
        SplittableRandom rnd = new SplittableRandom(spec.fewshotSeed());
        List<String> out = new ArrayList<>(forDocs.size());
        for (Map<String, Object> doc : forDocs) {
            StringBuilder sb = new StringBuilder(spec.description().render(doc));
            for (Map<String, Object> shot : shots(doc, k, rnd))
                sb.append(spec.prompt().render(shot)).append(spec.targetDelimiter()).append(targetText(shot)).append(spec.fewshotDelimiter());
            sb.append(spec.prompt().render(doc));
            out.add(sb.toString());
        }
        return out;
    }

    private List<Map<String, Object>> shots(Map<String, Object> doc, int k, SplittableRandom rnd) {
        if (k <= 0) return List.of();
        String group = spec.fewshotGroupBy();
        List<Map<String, Object>> pool = new ArrayList<>();
        for (Map<String, Object> f : fewshot) {
            if (fewshotIsDocs && f == doc) continue;
            if (group != null && !Objects.equals(f.get(group), doc.get(group))) continue;
            pool.add(f);
        }
        if (pool.size() < k)
            throw new IllegalArgumentException("task " + spec.name() + ": " + k + " few-shot examples asked for, only " + pool.size() + " available");
        if (!spec.fewshotSampler().equals("random")) return pool.subList(0, k);
        for (int i = 0; i < k; i++) { // a partial Fisher-Yates shuffle
            int j = i + rnd.nextInt(pool.size() - i);
            Map<String, Object> t = pool.get(i);
            pool.set(i, pool.get(j));
            pool.set(j, t);
        }
        return pool.subList(0, k);
    }
}
