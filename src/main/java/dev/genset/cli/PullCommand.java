package dev.genset.cli;

import dev.genset.models.Manifest;
import dev.genset.models.ModelDetails;
import dev.genset.models.Progress;
import dev.genset.models.ProgressBar;
import dev.genset.models.PullOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "pull", description = {
        "Download a model into the store: hf://OWNER/REPO/FILE.gguf (from $HF_ENDPOINT, default https://huggingface.co, "
                + "with $HF_TOKEN if set) or an http(s):// URL.",
        "Interrupted downloads resume; the SHA-256 is verified when the server states it or --sha256 gives it."})
final class PullCommand implements Callable<Integer> {
    @Mixin HomeOption home;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "hf://OWNER/REPO/FILE.gguf or an http(s):// URL")
    String source;

    @Option(names = "--name", paramLabel = "NAME[:TAG]", description = "Name in the store (default: the file name without .gguf).")
    String name;

    @Option(names = "--sha256", paramLabel = "HEX", description = "Expected SHA-256 of the file.")
    String sha256;

    @Option(names = "--retries", paramLabel = "N", defaultValue = "5", description = "Retries after a failure that made no progress (default: ${DEFAULT-VALUE}).")
    int retries;

    @Option(names = {"-q", "--quiet"}, description = "No progress output.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        Progress progress = quiet ? Progress.NONE : ProgressBar.stderr();
        PullOptions options = PullOptions.defaults().withName(name).withSha256(sha256).withProgress(progress)
                .withRetries(retries, Duration.ofSeconds(1));
        Manifest m = home.models().pull(source, options);
        System.out.printf("pulled %s (%s, %s)%n", m.ref(), m.digest().substring(0, 19), ModelDetails.formatBytes(m.size()));
        return 0;
    }
}
