package dev.genset.cli;

import dev.genset.models.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "cp", description = "Give a model in the store another name (the file is shared, not copied).")
final class CpCommand implements Callable<Integer> {
    @Mixin HomeOption home;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "name[:tag]")
    String source;

    @Parameters(index = "1", paramLabel = "ALIAS", description = "new name[:tag]")
    String alias;

    @Override
    public Integer call() throws Exception {
        Manifest m = home.models().copy(source, alias);
        System.out.println("copied " + dev.genset.models.ModelRef.parse(source) + " to " + m.ref());
        return 0;
    }
}
