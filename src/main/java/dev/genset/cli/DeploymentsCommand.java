package dev.genset.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.route.Deployment;
import dev.genset.store.Deployments;
import dev.genset.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "deployments", description = {
        "Where public model names are served: the local engine or any OpenAI-compatible upstream.",
        "A model with several deployments is routed by its strategy, with retries and fallback."},
        subcommands = {DeploymentsCommand.Add.class, DeploymentsCommand.ListDeployments.class, DeploymentsCommand.Remove.class,
                DeploymentsCommand.Strategy.class})
final class DeploymentsCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "add", description = "Add or replace a deployment of a public model name.")
    static final class Add implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "NAME", description = "The deployment's name (e.g. openai-east).")
        String name;
        @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The public model name clients ask for.")
        String model;
        @Option(names = "--url", paramLabel = "BASE_URL", description = "The upstream's OpenAI-compatible base URL (ending in /v1); omit for the local engine.")
        String baseUrl;
        @Option(names = "--api-key-env", paramLabel = "VAR", description = "Read the upstream's API key from this environment variable.")
        String apiKeyEnv;
        @Option(names = "--upstream-model", paramLabel = "NAME", description = "The model name the upstream knows (default: the public name).")
        String upstreamModel;
        @Option(names = "--priority", defaultValue = "0", description = "Lower is tried first by the priority strategy (default: ${DEFAULT-VALUE}).")
        int priority;
        @Option(names = "--weight", defaultValue = "1", description = "Share of traffic under the weighted strategy (default: ${DEFAULT-VALUE}).")
        int weight;
        @Option(names = "--timeout-ms", paramLabel = "MS", description = "Time to wait for the upstream's response headers.")
        Long timeoutMs;

        @Override
        public Integer call() {
            String apiKey = null;
            if (apiKeyEnv != null) {
                apiKey = System.getenv(apiKeyEnv);
                if (apiKey == null || apiKey.isBlank()) throw new IllegalArgumentException("--api-key-env: environment variable " + apiKeyEnv + " is not set");
            }
            if (weight < 1) throw new IllegalArgumentException("--weight must be at least 1");
            String provider = baseUrl == null ? Deployment.LOCAL : Deployment.OPENAI;
            // Validates the combination the same way the router will.
            new Deployment(name, model, provider, baseUrl, apiKey, upstreamModel, priority, weight, timeoutMs == null ? null : java.time.Duration.ofMillis(timeoutMs));
            try (Store s = store.open()) {
                new AdminService(s).putDeployment(new Deployments.Row(name, model, provider, baseUrl, apiKey, upstreamModel, priority, weight, timeoutMs));
            }
            System.out.printf("%s: %s -> %s%n", name, model, baseUrl == null ? "local engine" : baseUrl);
            return 0;
        }
    }

    @Command(name = "list", description = "List deployments (upstream keys are never printed).")
    static final class ListDeployments implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Option(names = "--json", description = "JSON output.")
        boolean json;

        private static ObjectNode json(Deployments.Row r) {
            ObjectNode n = StoreOptions.Json.MAPPER.createObjectNode();
            n.put("name", r.name());
            n.put("model", r.model());
            n.put("provider", r.provider());
            n.put("base_url", r.baseUrl());
            n.put("upstream_model", r.upstreamModel());
            n.put("priority", r.priority());
            n.put("weight", r.weight());
            n.put("has_api_key", r.apiKey() != null);
            return n;
        }

        @Override
        public Integer call() throws Exception {
            try (Store s = store.open()) {
                StoreOptions.printList(new AdminService(s).listDeployments(), json, ListDeployments::json,
                        "%-20s %-24s %-8s %-40s %8s %6s%n", new Object[] {"NAME", "MODEL", "PROVIDER", "BASE URL", "PRIORITY", "WEIGHT"},
                        r -> new Object[] {r.name(), r.model(), r.provider(), r.baseUrl() == null ? "-" : r.baseUrl(), r.priority(), r.weight()});
            }
            return 0;
        }
    }

    @Command(name = "remove", description = "Remove a deployment.")
    static final class Remove implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                if (new AdminService(s).removeDeployment(name) == 0) throw new IllegalArgumentException("no deployment named " + name);
            }
            System.out.println("removed " + name);
            return 0;
        }
    }

    @Command(name = "strategy", description = "Set how a model's deployments share requests: priority (fallback in order), weighted or least-busy.")
    static final class Strategy implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(index = "0", paramLabel = "MODEL")
        String model;
        @Parameters(index = "1", paramLabel = "STRATEGY")
        String strategy;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                new AdminService(s).setRouteStrategy(model, strategy);
            }
            System.out.println(model + ": " + strategy);
            return 0;
        }
    }
}
