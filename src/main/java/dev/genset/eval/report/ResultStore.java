package dev.genset.eval.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Evaluation runs kept as JSON files, one per run, under {@code $GENSET_HOME/eval/runs/}
 * ({@code GENSET_HOME} defaults to {@code ~/.genset}). The SQL store will take this over.
 */
public final class ResultStore {
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public ResultStore(Path evalDir) {
        this.dir = evalDir.resolve("runs");
    }

    /** The store under {@code $GENSET_HOME/eval} (the {@code genset.home} property first, for tests). */
    public static ResultStore standard() {
        return new ResultStore(home().resolve("eval"));
    }

    public static Path home() {
        String p = System.getProperty("genset.home");
        if (p == null || p.isBlank()) p = System.getenv("GENSET_HOME");
        if (p != null && !p.isBlank()) return Path.of(p);
        return Path.of(System.getProperty("user.home"), ".genset");
    }

    public Path directory() {
        return dir;
    }

    /** Writes the run (without per-document samples); returns its file. */
    public Path save(RunResult run) throws IOException {
        Files.createDirectories(dir);
        RunResult slim = new RunResult(run.id(), run.created(), run.model(), run.source(), run.options(),
                run.tasks().stream().map(t -> t.withoutSamples()).toList());
        Path file = dir.resolve(run.id() + ".json");
        Path tmp = dir.resolve(run.id() + ".json.tmp");
        JSON.writeValue(tmp.toFile(), slim);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    /** All stored runs, oldest first; unreadable files are skipped. */
    public List<RunResult> runs() throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        List<RunResult> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                try {
                    out.add(JSON.readValue(f.toFile(), RunResult.class));
                } catch (IOException e) {
                    System.err.println("genset: skipping unreadable result " + f.getFileName() + ": " + e.getMessage().lines().findFirst().orElse(""));
                }
            }
        }
        out.sort(Comparator.comparing(RunResult::created));
        return out;
    }
}
