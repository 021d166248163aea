package dev.genset.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.Money;
import dev.genset.store.Store;
import dev.genset.store.UsageReports;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.math.BigDecimal;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "usage", description = "Requests, tokens and cost from the usage ledger.")
final class UsageCommand implements Callable<Integer> {
    @Mixin StoreOptions store;
    @Option(names = "--key", description = "One key (id, name or prefix).")
    String key;
    @Option(names = "--team", description = "One team (name or id).")
    String team;
    @Option(names = "--model", description = "One model.")
    String model;
    @Option(names = "--since", paramLabel = "WHEN", description = "From: a date (UTC), an instant, or an age such as 7d or 24h.")
    String since;
    @Option(names = "--until", paramLabel = "WHEN", description = "Until (exclusive; a date counts whole).")
    String until;
    @Option(names = "--by", paramLabel = "GROUP", description = "Group by model, key, team, day or deployment.")
    String by;
    @Option(names = "--json", description = "JSON output: totals and groups.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        UsageReports.GroupBy groupBy = UsageReports.GroupBy.parse(by);
        Long from = since == null ? null : AdminService.parseTime(since, false);
        Long to = until == null ? null : AdminService.parseTime(until, true);
        try (Store s = store.open()) {
            AdminService admin = new AdminService(s);
            UsageReports.Totals total = admin.usage(key, team, model, from, to, UsageReports.GroupBy.NONE).getFirst();
            List<UsageReports.Totals> groups = groupBy == UsageReports.GroupBy.NONE ? List.of()
                    : admin.usage(key, team, model, from, to, groupBy);
            if (json) {
                ObjectNode root = StoreOptions.Json.MAPPER.createObjectNode();
                root.set("totals", totalsJson(total, null));
                if (groupBy != UsageReports.GroupBy.NONE) {
                    root.put("by", groupBy.name().toLowerCase(java.util.Locale.ROOT));
                    ArrayNode a = root.putArray("groups");
                    for (UsageReports.Totals t : groups) a.add(totalsJson(t, label(admin, groupBy, t.group())));
                }
                StoreOptions.printJson(root);
                return 0;
            }
            String fmt = "%-32s %10s %8s %14s %14s %12s %14s%n";
            System.out.printf(fmt, groupBy == UsageReports.GroupBy.NONE ? "" : groupBy.name(), "REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "CACHED", "COST");
            for (UsageReports.Totals t : groups) row(fmt, label(admin, groupBy, t.group()), t);
            row(fmt, "total", total);
        }
        return 0;
    }

    private static void row(String fmt, String label, UsageReports.Totals t) {
        System.out.printf(fmt, label == null ? "-" : label, t.requests(), t.errors(), t.promptTokens(), t.completionTokens(), t.cachedTokens(),
                "$" + Money.format(t.cost()));
    }

    private static String label(AdminService admin, UsageReports.GroupBy by, String group) {
        if (group == null) return null;
        if (by == UsageReports.GroupBy.TEAM) return admin.teamName(group);
        return group;
    }

    private static ObjectNode totalsJson(UsageReports.Totals t, String group) {
        ObjectNode n = StoreOptions.Json.MAPPER.createObjectNode();
        if (group != null || t.group() != null) n.put("group", group);
        n.put("requests", t.requests());
        n.put("errors", t.errors());
        n.put("prompt_tokens", t.promptTokens());
        n.put("completion_tokens", t.completionTokens());
        n.put("cached_tokens", t.cachedTokens());
        n.put("total_tokens", t.totalTokens());
        n.put("cost", new BigDecimal(Money.format(t.cost())));
        return n;
    }
}
