package dev.genset.eval.task;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Turns a command line's task argument into a task definition. */
public final class Tasks {
    private Tasks() {}

    /**
     * {@code NAME} (a bundled task), {@code FILE.yaml|.yml|.json} (a task file), or
     * {@code NAME:PATH} (a bundled task reading PATH instead: {@code mmlu:data/}, {@code gsm8k:test.jsonl}).
     */
    public static TaskSpec resolve(String arg) throws IOException {
        String lower = arg.toLowerCase(Locale.ROOT);
        if ((lower.endsWith(".yaml") || lower.endsWith(".yml") || lower.endsWith(".json")) && Files.exists(Path.of(arg)))
            return TaskSpec.load(Path.of(arg));
        int colon = arg.indexOf(':');
        if (colon > 1) { // (one letter would be a drive)
            String name = arg.substring(0, colon);
            Path data = Path.of(arg.substring(colon + 1));
            TaskSpec spec = TaskSpec.bundled(name).withDatasetFile(data);
            if (name.equals("arc")) { // arc_easy or arc_challenge, as the file says
                String f = data.getFileName() == null ? "" : data.getFileName().toString().toLowerCase(Locale.ROOT);
                if (f.contains("challenge")) spec = spec.withName("arc_challenge");
                else if (f.contains("easy")) spec = spec.withName("arc_easy");
            }
            return spec;
        }
        if (lower.endsWith(".yaml") || lower.endsWith(".yml") || lower.endsWith(".json")) throw new java.nio.file.NoSuchFileException(arg);
        return TaskSpec.bundled(arg);
    }
}
