package dev.genset.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.Money;
import dev.genset.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "keys", description = "Create, list and revoke API keys.",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Show.class, KeysCommand.Update.class, KeysCommand.Revoke.class})
final class KeysCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "create", description = "Create a key and print it on the first line of stdout (it is shown only this once).")
    static final class Create implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Mixin StoreOptions.LimitOptions limits;
        @Option(names = "--name", required = true, description = "A name for the key.")
        String name;
        @Option(names = "--team", description = "The key's team (name or id).")
        String team;
        @Option(names = "--expires", paramLabel = "WHEN", description = "Expiry: a date (works through that day, UTC), an instant, or a length such as 30d.")
        String expires;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                AdminService.CreatedKey k = new AdminService(s).createKey(
                        new AdminService.KeySpec(name, team, limits.toLimits(), StoreOptions.parseExpiry(expires)));
                System.out.println(k.key());
                System.out.flush();
                ApiKeyRecord r = k.record();
                System.err.printf("created key %s (%s, %s)%s; store it now: it is not shown again%n", r.id(), r.name(),
                        StoreOptions.limitsText(r.limits()), r.expiresAt() == null ? "" : ", expires " + StoreOptions.time(r.expiresAt()));
            }
            return 0;
        }
    }

    @Command(name = "list", description = "List keys (never the keys themselves: their prefixes).")
    static final class ListKeys implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Option(names = "--team", description = "Only this team's keys.")
        String team;
        @Option(names = "--json", description = "JSON output.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (Store s = store.open()) {
                AdminService admin = new AdminService(s);
                long now = System.currentTimeMillis();
                StoreOptions.printList(admin.listKeys(team), json, k -> StoreOptions.keyJson(k, admin.teamName(k.teamId())),
                        "%-18s %-12s %-20s %-14s %-8s %s%n", new Object[] {"ID", "PREFIX", "NAME", "TEAM", "STATE", "LIMITS"},
                        k -> new Object[] {k.id(), k.prefix(), k.name(), k.teamId() == null ? "-" : admin.teamName(k.teamId()),
                                k.revoked() ? "revoked" : k.expired(now) ? "expired" : "active", StoreOptions.limitsText(k.limits())});
            }
            return 0;
        }
    }

    @Command(name = "show", description = "Show a key's limits and its spend in the current period.")
    static final class Show implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "KEY", description = "The key's id, name or prefix.")
        String ref;
        @Option(names = "--json", description = "JSON output.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (Store s = store.open()) {
                AdminService admin = new AdminService(s);
                ApiKeyRecord k = admin.key(ref);
                AdminService.Spend spend = admin.keySpend(k);
                if (json) {
                    ObjectNode n = StoreOptions.keyJson(k, admin.teamName(k.teamId()));
                    n.set("spend", StoreOptions.spendJson(spend));
                    StoreOptions.printJson(n);
                    return 0;
                }
                System.out.printf("id:       %s%nname:     %s%nprefix:   %s%nteam:     %s%nlimits:   %s%ncreated:  %s%nexpires:  %s%nrevoked:  %s%n",
                        k.id(), k.name(), k.prefix(), k.teamId() == null ? "-" : admin.teamName(k.teamId()), StoreOptions.limitsText(k.limits()),
                        StoreOptions.time(k.createdAt()), StoreOptions.time(k.expiresAt()), StoreOptions.time(k.revokedAt()));
                System.out.printf("spend:    $%s this %s period (since %s), %d tokens%n", Money.format(spend.spent()), spend.period().label(),
                        StoreOptions.time(spend.periodStart()), spend.tokensUsed());
            }
            return 0;
        }
    }

    @Command(name = "update", description = "Change a key's limits or expiry (0 or none clears a limit).")
    static final class Update implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Mixin StoreOptions.LimitOptions limits;
        @Parameters(paramLabel = "KEY", description = "The key's id, name or prefix.")
        String ref;
        @Option(names = "--expires", paramLabel = "WHEN", description = "New expiry, or never.")
        String expires;
        @Option(names = "--capture", paramLabel = "on|off", description = "Save this key's prompts and completions (export with genset data export-logs).")
        String capture;

        @Override
        public Integer call() {
            Boolean captureOn = capture == null ? null : switch (capture.toLowerCase(java.util.Locale.ROOT)) {
                case "on", "true", "yes" -> true;
                case "off", "false", "no" -> false;
                default -> throw new IllegalArgumentException("--capture takes on or off, not " + capture);
            };
            try (Store s = store.open()) {
                AdminService admin = new AdminService(s);
                ApiKeyRecord k = admin.key(ref);
                Long exp = expires == null ? k.expiresAt() : StoreOptions.parseExpiry(expires);
                ApiKeyRecord u = admin.updateKey(k.id(), limits.over(k.limits()), exp);
                if (captureOn != null) u = admin.setKeyCapture(k.id(), captureOn);
                System.out.printf("updated key %s: %s%s%n", u.id(), StoreOptions.limitsText(u.limits()), u.capture() ? ", capture on" : "");
            }
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke a key; it stops working at its next request.")
    static final class Revoke implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "KEY", description = "The key's id, name or prefix.")
        String ref;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                ApiKeyRecord k = new AdminService(s).revokeKey(ref);
                System.out.printf("revoked key %s (%s)%n", k.id(), k.name());
            }
            return 0;
        }
    }
}
