package dev.genset.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The models a server offers, by id; the first is the default for requests that name none. */
final class ModelRegistry implements AutoCloseable {
    private final Map<String, ServedModel> byId = new LinkedHashMap<>();

    ModelRegistry(ServerConfig config) {
        for (var path : config.models()) {
            ServedModel m = new ServedModel(path, config);
            if (byId.containsKey(m.id)) throw new IllegalArgumentException("two models have the id '" + m.id + "': " + byId.get(m.id).path + " and " + path);
            byId.put(m.id, m);
        }
    }

    List<ServedModel> all() {
        return new ArrayList<>(byId.values());
    }

    /** Whether a request naming {@code name} is served here. */
    boolean has(String name) {
        try {
            resolve(name);
            return true;
        } catch (ApiException e) {
            return false;
        }
    }

    /** The model a request names (its id, or its file name), the default if it names none, else 404. */
    ServedModel resolve(String name) {
        if (name == null || name.isEmpty()) return byId.values().iterator().next();
        ServedModel m = byId.get(name);
        if (m == null) { // a path or file name: "models/x.gguf" is "x"
            String file = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
            m = byId.get(file.replaceFirst("(?i)\\.gguf$", ""));
        }
        if (m == null) throw ApiException.notFound("model", "model_not_found",
                "The model '" + name + "' does not exist. Available: " + String.join(", ", byId.keySet()) + ".");
        return m;
    }

    @Override
    public void close() {
        for (ServedModel m : byId.values()) m.close();
    }
}
