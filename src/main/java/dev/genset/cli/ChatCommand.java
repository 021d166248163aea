package dev.genset.cli;

import dev.genset.engine.chat.ChatMessage;
import dev.genset.engine.chat.ChatTemplate;
import dev.genset.engine.generate.GenerationOptions;
import dev.genset.engine.generate.GenerationResult;
import dev.genset.engine.generate.Generator;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "chat", description = {
        "Interactive multi-turn chat through the model's chat template.",
        "Type a message and press Enter; /reset starts over, /exit (or end of input) quits."})
final class ChatCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin KvCacheOptions kvCacheOptions;
    @Mixin HugePagesOption hugePages;
    @Mixin SamplingOptions sampling;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message opening the conversation.")
    String system;

    @Option(names = "--template", paramLabel = "NAME", description = "Use a built-in format instead of the model's template: chatml, llama2, llama3.")
    String template;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "-1", description = "Most tokens per reply; -1 until the turn ends (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        boolean terminal = System.console() != null && System.console().isTerminal();
        hugePages.apply();
        sampling.checkConstraint();
        try (Model model = Model.load(modelOptions.modelPath()); Parallel pool = new Parallel(modelOptions.threads())) {
            Tokenizer tok = model.tokenizer();
            ChatTemplate chat = template != null ? ChatTemplate.builtin(template) : model.chatTemplate();
            Generator generator = new Generator(model, pool, modelOptions.contextSize(model.config().contextLength()), modelOptions.batchSize,
                    kvCacheOptions.keyType(), kvCacheOptions.valueType());
            // Turn markers of the common formats end a reply even when the vocabulary lacks them as tokens.
            List<String> stops = List.of("<|im_end|>", "<|im_start|>", "<|eot_id|>", "</s>", "[INST]");
            List<ChatMessage> history = new ArrayList<>();
            if (system != null) history.add(ChatMessage.system(system));
            System.err.printf("genset chat: %s, %s format; /reset starts over, /exit quits%n", model.name(), chat.name());
            // while the first message is typed, the forward pass runs once on a scratch cache, so that
            // the JIT compiles it then and not during the first reply (Model#warmUp)
            Thread warmUp = Thread.ofPlatform().daemon().name("genset-warm-up").start(() -> model.warmUp(pool, kvCacheOptions.keyType(), kvCacheOptions.valueType(), 1));
            while (true) {
                if (terminal) out.print("> ");
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit") || line.strip().equals("/bye")) break;
                if (line.isBlank()) continue;
                if (line.strip().equals("/reset")) {
                    history.removeIf(m -> !m.role().equals("system"));
                    continue;
                }
                history.add(ChatMessage.user(line));
                int[] prompt = fit(history, chat, tok, generator.contextSize());
                if (prompt == null) {
                    System.err.println("genset chat: this message alone does not fit the context of " + generator.contextSize() + " tokens");
                    history.removeLast();
                    continue;
                }
                warmUp.join();
                StringBuilder reply = new StringBuilder();
                GenerationResult r = generator.generate(prompt, new GenerationOptions(maxTokens, sampling.toConfig(), stops, false,
                        sampling.constraint(tok)), text -> {
                    reply.append(text);
                    out.print(text);
                    out.flush();
                }, null);
                out.println();
                history.add(ChatMessage.assistant(reply.toString().strip()));
                System.err.printf("[prompt: %d tokens (%d cached), %.1f t/s | reply: %d tokens, %.1f t/s | finish: %s]%n",
                        r.promptTokens(), r.cachedTokens(), r.promptTokensPerSecond(), r.tokens().length, r.generationTokensPerSecond(), r.finishReason().apiName());
            }
            warmUp.join(); // before the model and pool close under it
        }
        return 0;
    }

    /** The conversation's tokens, dropping the oldest turns (never the system message) until it leaves room to reply. */
    private static int[] fit(List<ChatMessage> history, ChatTemplate chat, Tokenizer tok, int contextSize) {
        while (true) {
            String text = chat.apply(history, true);
            String bos = tok.bos() >= 0 ? tok.tokenText(tok.bos()) : null;
            boolean hasBos = bos != null && !bos.isEmpty() && text.startsWith(bos);
            int[] tokens = tok.encode(text, !hasBos, true);
            if (tokens.length < contextSize * 3 / 4) return tokens;
            int oldest = history.getFirst().role().equals("system") ? 1 : 0;
            if (history.size() - oldest <= 1) return tokens.length < contextSize - 1 ? tokens : null;
            history.remove(oldest);
        }
    }
}
