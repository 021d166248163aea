package dev.genset.server;

import dev.genset.gateway.Gateway;
import dev.genset.models.KeepAlive;
import dev.genset.models.ModelStore;

import java.nio.file.Path;
import java.util.Map;

/**
 * What {@code genset serve} is wired to besides its engine settings.
 *
 * @param gateway      keys, limits, budgets, the usage ledger and upstream routes; null for none (no keys, no metering)
 * @param open         serve without keys on a non-loopback address while no key exists
 * @param store        the model store: requests may name its models (name:tag), loaded on first use; null for none
 * @param keepAlive    how long a model loaded on demand stays loaded after its last request (a request's keep_alive overrides it)
 * @param names        public names of the configured model files that came from the store (else a file's name without .gguf)
 * @param memoryBudget bytes all loaded models may take together; the least recently used idle one is unloaded to make room
 * @param capture      where requests of keys with capture on are saved; null for nowhere
 */
public record ServeOptions(Gateway gateway, boolean open, ModelStore store, KeepAlive keepAlive, Map<Path, String> names, long memoryBudget,
                           dev.genset.data.CaptureLog capture) {
    public ServeOptions(Gateway gateway, boolean open, ModelStore store, KeepAlive keepAlive, Map<Path, String> names, long memoryBudget) {
        this(gateway, open, store, keepAlive, names, memoryBudget, null);
    }

    public ServeOptions {
        if (keepAlive == null) keepAlive = KeepAlive.DEFAULT;
        names = names == null ? Map.of() : Map.copyOf(names);
        if (memoryBudget <= 0) memoryBudget = Long.MAX_VALUE;
    }

    public static ServeOptions none() {
        return new ServeOptions(null, false, null, KeepAlive.DEFAULT, Map.of(), Long.MAX_VALUE);
    }

    public ServeOptions withGateway(Gateway g, boolean openFlag) {
        return new ServeOptions(g, openFlag, store, keepAlive, names, memoryBudget, capture);
    }

    public ServeOptions withStore(ModelStore s) {
        return new ServeOptions(gateway, open, s, keepAlive, names, memoryBudget, capture);
    }

    public ServeOptions withKeepAlive(KeepAlive k) {
        return new ServeOptions(gateway, open, store, k, names, memoryBudget, capture);
    }

    public ServeOptions withNames(Map<Path, String> n) {
        return new ServeOptions(gateway, open, store, keepAlive, n, memoryBudget, capture);
    }

    public ServeOptions withCapture(dev.genset.data.CaptureLog log) {
        return new ServeOptions(gateway, open, store, keepAlive, names, memoryBudget, log);
    }

    public ServeOptions withMemoryBudget(long bytes) {
        return new ServeOptions(gateway, open, store, keepAlive, names, bytes, capture);
    }
}
