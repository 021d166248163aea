package dev.genset.eval.task;

import dev.genset.data.Dataset;
import dev.genset.data.DatasetStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Named datasets from the data store ({@code genset data add}). The store has no splits, so a
 * split is a dataset of its own by convention: {@code NAME-SPLIT} (e.g. {@code qa-test},
 * {@code qa-dev}) when it exists, else {@code NAME} itself for every split. A name may carry a
 * version ({@code qa@2}), which then applies to every split.
 */
public final class StoredDatasets implements DatasetRegistry.Provider {
    private final DatasetStore store;

    public StoredDatasets(DatasetStore store) {
        this.store = store;
    }

    @Override
    public Optional<DatasetRegistry.Source> find(String ref) {
        if (!exists(ref)) return Optional.empty();
        int at = ref.indexOf('@');
        String name = at < 0 ? ref : ref.substring(0, at), version = at < 0 ? "" : ref.substring(at);
        return Optional.of(split -> {
            String perSplit = name + "-" + split + version;
            return read(exists(perSplit) ? perSplit : ref);
        });
    }

    private boolean exists(String ref) {
        try {
            store.info(ref);
            return true;
        } catch (DatasetStore.NoSuchDatasetException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<Map<String, Object>> read(String ref) {
        try {
            Dataset d = store.open(ref);
            List<Map<String, Object>> docs = new ArrayList<>();
            for (Map<String, Object> row : d) docs.add(row);
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
