package dev.genset.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.Money;
import dev.genset.store.Store;
import dev.genset.store.Team;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "teams", description = "Teams: limits and budgets shared by their keys.",
        subcommands = {TeamsCommand.Create.class, TeamsCommand.ListTeams.class, TeamsCommand.Show.class, TeamsCommand.Update.class,
                TeamsCommand.Disable.class, TeamsCommand.Enable.class})
final class TeamsCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "create", description = "Create a team.")
    static final class Create implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Mixin StoreOptions.LimitOptions limits;
        @Parameters(paramLabel = "NAME", description = "The team's name.")
        String name;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                Team t = new AdminService(s).createTeam(name, limits.toLimits());
                System.out.printf("created team %s (%s): %s%n", t.name(), t.id(), StoreOptions.limitsText(t.limits()));
            }
            return 0;
        }
    }

    @Command(name = "list", description = "List teams.")
    static final class ListTeams implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Option(names = "--json", description = "JSON output.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (Store s = store.open()) {
                StoreOptions.printList(new AdminService(s).listTeams(), json, StoreOptions::teamJson,
                        "%-18s %-20s %-9s %s%n", new Object[] {"ID", "NAME", "STATE", "LIMITS"},
                        t -> new Object[] {t.id(), t.name(), t.disabled() ? "disabled" : "active", StoreOptions.limitsText(t.limits())});
            }
            return 0;
        }
    }

    @Command(name = "show", description = "Show a team's limits and its spend in the current period.")
    static final class Show implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "TEAM", description = "Name or id.")
        String ref;
        @Option(names = "--json", description = "JSON output.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (Store s = store.open()) {
                AdminService admin = new AdminService(s);
                Team t = admin.team(ref);
                AdminService.Spend spend = admin.teamSpend(t);
                if (json) {
                    ObjectNode n = StoreOptions.teamJson(t);
                    n.set("spend", StoreOptions.spendJson(spend));
                    StoreOptions.printJson(n);
                    return 0;
                }
                System.out.printf("id:      %s%nname:    %s%nstate:   %s%nlimits:  %s%nkeys:    %d%n", t.id(), t.name(),
                        t.disabled() ? "disabled" : "active", StoreOptions.limitsText(t.limits()), admin.listKeys(t.id()).size());
                System.out.printf("spend:   $%s this %s period (since %s), %d tokens%n", Money.format(spend.spent()), spend.period().label(),
                        StoreOptions.time(spend.periodStart()), spend.tokensUsed());
            }
            return 0;
        }
    }

    @Command(name = "update", description = "Change a team's limits (0 or none clears a limit).")
    static final class Update implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Mixin StoreOptions.LimitOptions limits;
        @Parameters(paramLabel = "TEAM", description = "Name or id.")
        String ref;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                AdminService admin = new AdminService(s);
                Team t = admin.updateTeam(ref, limits.over(admin.team(ref).limits()));
                System.out.printf("updated team %s: %s%n", t.name(), StoreOptions.limitsText(t.limits()));
            }
            return 0;
        }
    }

    @Command(name = "disable", description = "Disable a team: its keys stop working at their next request.")
    static final class Disable implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "TEAM", description = "Name or id.")
        String ref;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                System.out.printf("disabled team %s%n", new AdminService(s).setTeamDisabled(ref, true).name());
            }
            return 0;
        }
    }

    @Command(name = "enable", description = "Enable a disabled team.")
    static final class Enable implements Callable<Integer> {
        @Mixin StoreOptions store;
        @Parameters(paramLabel = "TEAM", description = "Name or id.")
        String ref;

        @Override
        public Integer call() {
            try (Store s = store.open()) {
                System.out.printf("enabled team %s%n", new AdminService(s).setTeamDisabled(ref, false).name());
            }
            return 0;
        }
    }
}
