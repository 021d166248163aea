package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.server.ServeBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "serve", description = {
        "Load a running genset serve (or any OpenAI-compatible server) with streamed completions at several concurrency levels;",
        "report aggregate generated tokens/s and time-to-first-token percentiles per level."})
final class BenchServeCommand implements Callable<Integer> {
    @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", description = "The server's base URL (default: ${DEFAULT-VALUE}).")
    String url;

    @Option(names = "--concurrency", defaultValue = "1,4,16", split = ",", description = "Requests in flight at once, one level per value (default: ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--requests", defaultValue = "32", description = "Requests per level (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "64", description = "Tokens to generate per request (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time", description = "The prompt (default: ${DEFAULT-VALUE}).")
    String prompt;

    @Option(names = "--prompt-tokens", defaultValue = "0", description = "Give every request a prompt of its own of about this many tokens "
            + "(words drawn at random, counted with the server's /tokenize where it has one), so each is prefilled in full; 0 sends --prompt to all.")
    int promptTokens;

    @Option(names = "--shared-prefix-tokens", defaultValue = "0", description = "With --prompt-tokens: the first this many tokens of every "
            + "prompt are the same (a system prompt), the rest its own.")
    int sharedTokens;

    @Option(names = "--prefixes", defaultValue = "1", description = "With --shared-prefix-tokens: this many different shared prefixes, "
            + "request i starting with prefix i mod this (system prompts or conversations taking turns; default: ${DEFAULT-VALUE}).")
    int prefixes;

    @Option(names = "--model", description = "Model id to ask for (default: the server's default).")
    String model;

    @Option(names = "--chat", description = "Use /v1/chat/completions instead of /v1/completions.")
    boolean chat;

    @Option(names = "--no-ignore-eos", description = "Let requests end at an end-of-text token (by default each generates exactly --max-tokens, as llama.cpp's server bench does).")
    boolean noIgnoreEos;

    @Option(names = "--timeout", defaultValue = "600", description = "Per-request timeout in seconds (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--json", description = "Print the results as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (requests < 1) throw new IllegalArgumentException("--requests must be at least 1");
        for (int c : concurrency) if (c < 1 || c > 4096) throw new IllegalArgumentException("--concurrency values must be between 1 and 4096");
        String base = url.endsWith("/") ? url : url + "/";
        ServeBenchmark bench = new ServeBenchmark(new ServeBenchmark.Plan(URI.create(base), model, prompt, promptTokens, sharedTokens, prefixes, maxTokens, chat, !noIgnoreEos,
                Duration.ofSeconds(timeoutSeconds)));
        bench.run(1, 1); // warm-up
        List<ServeBenchmark.Level> levels = new ArrayList<>();
        for (int c : concurrency) {
            ServeBenchmark.Level l = bench.run(c, requests);
            levels.add(l);
            if (!json) System.err.printf("concurrency %d: %.1f tok/s%n", c, l.tokensPerSecond());
        }
        if (json) System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(levels));
        else System.out.print(ServeBenchmark.table(levels));
        return levels.stream().allMatch(l -> l.errors() == 0) ? 0 : 1;
    }
}
