package dev.genset.eval.task;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Datasets known by name (a task's {@code dataset: {name: ...}}): those registered in-process,
 * then the data store's ({@link StoredDatasets}, under GENSET_HOME).
 */
public final class DatasetRegistry {
    /** Where a named dataset's documents come from. */
    @FunctionalInterface
    public interface Source {
        /** The documents of one split ("test", "validation", "train", "dev", ...). */
        List<Map<String, Object>> documents(String split);
    }

    /** Looks datasets up by name; the data store implements this. */
    @FunctionalInterface
    public interface Provider {
        Optional<Source> find(String name);
    }

    private static final Map<String, Source> REGISTERED = new ConcurrentHashMap<>();
    private static volatile Provider provider = name -> new StoredDatasets(dev.genset.data.DatasetStore.atDefaultHome()).find(name);

    private DatasetRegistry() {}

    public static void register(String name, Source source) {
        REGISTERED.put(name, source);
    }

    public static void unregister(String name) {
        REGISTERED.remove(name);
    }

    /** Installs the provider asked for names that were not registered in-process. */
    public static void setProvider(Provider p) {
        provider = p == null ? name -> Optional.<Source>empty() : p;
    }

    public static Source get(String name) {
        Source s = REGISTERED.get(name);
        if (s != null) return s;
        return provider.find(name).orElseThrow(() -> new IllegalArgumentException(
                "no dataset named '" + name + "' (name a file with dataset.file instead)"));
    }
}
