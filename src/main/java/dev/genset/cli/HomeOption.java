package dev.genset.cli;

import dev.genset.data.DatasetStore;
import dev.genset.models.GensetHome;
import dev.genset.models.ModelStore;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The --home option of the commands that use the data directory (models, datasets, captures). */
final class HomeOption {
    @Option(names = "--home", paramLabel = "DIR", description = "Data directory (default: $GENSET_HOME, else ~/.genset).")
    Path home;

    Path path() {
        return GensetHome.resolve(home);
    }

    ModelStore models() {
        return ModelStore.at(path());
    }

    DatasetStore datasets() {
        return DatasetStore.at(path());
    }
}
