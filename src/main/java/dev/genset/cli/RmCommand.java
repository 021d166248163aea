package dev.genset.cli;

import dev.genset.models.Manifest;
import dev.genset.models.ModelStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "rm", description = "Remove models from the store (a file goes when no name uses it any more).")
final class RmCommand implements Callable<Integer> {
    @Mixin HomeOption home;

    @Parameters(arity = "1..*", paramLabel = "NAME", description = "name[:tag]")
    List<String> names;

    @Override
    public Integer call() throws Exception {
        ModelStore store = home.models();
        for (String n : names) {
            Manifest m = store.remove(n);
            System.out.println("deleted " + m.ref());
        }
        return 0;
    }
}
