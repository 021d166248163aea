package dev.genset.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.Money;
import dev.genset.store.Price;
import dev.genset.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "prices", description = "Model prices in dollars per million tokens.",
        subcommands = {PricesCommand.Set.class, PricesCommand.ListPrices.class, PricesCommand.Delete.class})
final class PricesCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "set", description = "Set a model's price (per deployment and prompt-length tier if given).")
    static final class Set implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "MODEL", description = "The public model name.")
        String model;
        @Option(names = "--input", required = true, paramLabel = "USD", description = "Per million prompt tokens.")
        String input;
        @Option(names = "--output", required = true, paramLabel = "USD", description = "Per million completion tokens.")
        String output;
        @Option(names = "--cached-input", paramLabel = "USD", description = "Per million cached prompt tokens (default: the input price).")
        String cachedInput;
        @Option(names = "--deployment", paramLabel = "NAME", description = "Only for this deployment of the model.")
        String deployment;
        @Option(names = "--min-prompt-tokens", paramLabel = "N", description = "Tier: applies to prompts of at least N tokens.")
        long minPromptTokens;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                Price p = new AdminService(s).setPrice(new Price(model, deployment, minPromptTokens, Money.parse(input), Money.parse(output),
                        cachedInput == null ? null : Money.parse(cachedInput), 0));
                System.out.printf("%s%s%s: input $%s, output $%s%s per million tokens%n", p.model(),
                        p.deployment().isEmpty() ? "" : " on " + p.deployment(), p.minPromptTokens() > 0 ? " from " + p.minPromptTokens() + " prompt tokens" : "",
                        Money.format(p.input()), Money.format(p.output()), p.cachedInput() == null ? "" : ", cached input $" + Money.format(p.cachedInput()));
            }
            return 0;
        }
    }

    @Command(name = "list", description = "List prices.")
    static final class ListPrices implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Option(names = "--json", description = "JSON output.")
        boolean json;

        private static ObjectNode json(Price p) {
            ObjectNode n = StoreOptions.Json.MAPPER.createObjectNode();
            n.put("model", p.model());
            n.put("deployment", p.deployment().isEmpty() ? null : p.deployment());
            n.put("min_prompt_tokens", p.minPromptTokens());
            n.put("input", p.input());
            n.put("output", p.output());
            n.put("cached_input", p.cachedInput());
            return n;
        }

        @Override
        public Integer call() throws Exception {
            try (Store s = store.open()) {
                StoreOptions.printList(new AdminService(s).listPrices(), json, ListPrices::json,
                        "%-28s %-16s %10s %12s %12s %14s%n", new Object[] {"MODEL", "DEPLOYMENT", "FROM", "INPUT", "OUTPUT", "CACHED INPUT"},
                        p -> new Object[] {p.model(), p.deployment().isEmpty() ? "*" : p.deployment(), p.minPromptTokens(),
                                "$" + Money.format(p.input()), "$" + Money.format(p.output()),
                                p.cachedInput() == null ? "-" : "$" + Money.format(p.cachedInput())});
            }
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a model's prices (one deployment's or tier's if given).")
    static final class Delete implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "MODEL")
        String model;
        @Option(names = "--deployment", paramLabel = "NAME")
        String deployment;
        @Option(names = "--min-prompt-tokens", paramLabel = "N")
        Long minPromptTokens;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                int n = new AdminService(s).deletePrice(model, deployment, minPromptTokens);
                System.out.printf("deleted %d price%s of %s%n", n, n == 1 ? "" : "s", model);
            }
            return 0;
        }
    }
}
