package dev.genset.plan;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The hardware catalogue: accelerators, servers, switches and optical transceivers with their
 * datasheet figures and a {@code source} for each. The bundled {@code plan/catalogue.json} is read
 * first; user files merge over it entry by entry (same id: the fields given replace the bundled
 * ones; a new id is added).
 */
public record Catalogue(List<Accelerator> accelerators, List<Server> servers, List<Switch> switches,
                        List<Transceiver> transceivers, List<String> notes) {

    static final String BUNDLED = "/plan/catalogue.json";
    static final List<String> SECTIONS = List.of("accelerators", "servers", "switches", "transceivers");

    /** An accelerator; throughput figures are dense (no sparsity), null when the part has no such mode. */
    public record Accelerator(String id, String name, String vendor, Double bf16Tflops, Double fp16Tflops,
                              Double fp8Tflops, Double int8Tops, double memoryGb, String memoryType,
                              double memoryBandwidthGbs, double tdpW, String interconnect, Double interconnectGbs,
                              String source) {
        public double memoryBytes() { return memoryGb * 1e9; }
        public double bandwidthBytesPerS() { return memoryBandwidthGbs * 1e9; }
    }

    /** A server; {@code nicPortsPerCage} is 2 where two compute-fabric NIC ports share a twin-port OSFP cage. */
    public record Server(String id, String name, String accelerator, int acceleratorsPerServer, double systemPowerKw,
                         int rackUnits, Integer nicPortsPerCage, String source) {
        public int nicCage() { return nicPortsPerCage == null || nicPortsPerCage < 1 ? 1 : nicPortsPerCage; }
    }

    /** A switch; {@code portsPerCage} is 2 for twin-port OSFP cages (one 2x module serves two ports). */
    public record Switch(String id, String name, int ports, double portSpeedGbps, Integer portsPerCage, Double powerW,
                         Integer rackUnits, String source) {
        public int cage() { return portsPerCage == null || portsPerCage < 1 ? 1 : portsPerCage; }
    }

    public record Transceiver(String id, String name, double speedGbps, Double powerW, String source) {}

    /** The bundled catalogue alone. */
    public static Catalogue bundled() {
        try {
            return bind(readBundled(), "bundled catalogue");
        } catch (IOException e) {
            throw new IllegalStateException("bundled catalogue unreadable: " + e.getMessage(), e);
        }
    }

    /**
     * The bundled catalogue with the user files merged over it in order; a null or absent optional
     * file is skipped, a named file that does not exist is an error.
     */
    public static Catalogue load(Path optionalUserFile, Path requiredUserFile) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = readBundled();
        String origin = "bundled catalogue";
        if (optionalUserFile != null && Files.isRegularFile(optionalUserFile)) {
            merge(root, readUser(om, optionalUserFile));
            origin = optionalUserFile.toString();
        }
        if (requiredUserFile != null) {
            if (!Files.exists(requiredUserFile)) throw new NoSuchFileException(requiredUserFile.toString());
            merge(root, readUser(om, requiredUserFile));
            origin = requiredUserFile.toString();
        }
        return bind(root, origin);
    }

    private static ObjectNode readBundled() throws IOException {
        try (InputStream in = Catalogue.class.getResourceAsStream(BUNDLED)) {
            if (in == null) throw new IOException("missing resource " + BUNDLED);
            return (ObjectNode) new ObjectMapper().readTree(in);
        }
    }

    private static ObjectNode readUser(ObjectMapper om, Path file) throws IOException {
        JsonNode n;
        try {
            n = om.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("catalogue " + file + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (!(n instanceof ObjectNode o)) throw new IllegalArgumentException("catalogue " + file + ": expected a JSON object with "
                + String.join("/", SECTIONS) + " arrays");
        for (String key : (Iterable<String>) o::fieldNames) {
            if (key.equals("notes")) continue;
            if (!SECTIONS.contains(key)) throw new IllegalArgumentException("catalogue " + file + ": unknown section '" + key
                    + "' (known: " + String.join(", ", SECTIONS) + ")");
            JsonNode arr = o.get(key);
            if (!arr.isArray()) throw new IllegalArgumentException("catalogue " + file + ": '" + key + "' must be an array");
            for (JsonNode e : arr)
                if (!e.isObject() || !e.hasNonNull("id")) throw new IllegalArgumentException("catalogue " + file + ": every entry in '" + key + "' needs an \"id\"");
        }
        return o;
    }

    /** Merges {@code over} into {@code base}: entries matched by id (case-insensitive), fields replaced one by one. */
    static void merge(ObjectNode base, ObjectNode over) {
        for (String section : SECTIONS) {
            JsonNode add = over.get(section);
            if (add == null) continue;
            ArrayNode target = base.withArray(section);
            for (JsonNode e : add) {
                String id = e.get("id").asText();
                ObjectNode existing = null;
                for (JsonNode t : target)
                    if (t.path("id").asText().equalsIgnoreCase(id)) existing = (ObjectNode) t;
                if (existing != null) existing.setAll((ObjectNode) e.deepCopy());
                else target.add(e.deepCopy());
            }
        }
    }

    private static Catalogue bind(ObjectNode root, String origin) {
        ObjectMapper om = new ObjectMapper()
                .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
                .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true);
        try {
            List<Accelerator> acc = list(om, root, "accelerators", Accelerator.class);
            List<Server> srv = list(om, root, "servers", Server.class);
            List<Switch> sw = list(om, root, "switches", Switch.class);
            List<Transceiver> tr = list(om, root, "transceivers", Transceiver.class);
            List<String> notes = new ArrayList<>();
            for (JsonNode n : root.path("notes")) notes.add(n.asText());
            Catalogue c = new Catalogue(acc, srv, sw, tr, notes);
            c.validate(origin);
            return c;
        } catch (IOException e) {
            String msg = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException("catalogue (" + origin + "): " + msg.lines().findFirst().orElse(msg));
        }
    }

    private static <T> List<T> list(ObjectMapper om, ObjectNode root, String section, Class<T> type) throws IOException {
        List<T> out = new ArrayList<>();
        for (JsonNode n : root.path(section)) out.add(om.treeToValue(n, type));
        return List.copyOf(out);
    }

    private void validate(String origin) {
        for (Accelerator a : accelerators) {
            if (!(a.memoryGb() > 0) || !(a.memoryBandwidthGbs() > 0) || a.bf16Tflops() == null || !(a.bf16Tflops() > 0))
                throw new IllegalArgumentException("catalogue (" + origin + "): accelerator " + a.id()
                        + " needs positive bf16_tflops, memory_gb and memory_bandwidth_gbs");
        }
        for (Server s : servers) {
            if (s.acceleratorsPerServer() < 1 || !(s.systemPowerKw() > 0))
                throw new IllegalArgumentException("catalogue (" + origin + "): server " + s.id() + " needs accelerators_per_server >= 1 and system_power_kw > 0");
        }
        for (Switch s : switches) {
            if (s.ports() < 2 || !(s.portSpeedGbps() > 0))
                throw new IllegalArgumentException("catalogue (" + origin + "): switch " + s.id() + " needs ports >= 2 and port_speed_gbps > 0");
        }
    }

    public Accelerator accelerator(String id) {
        String want = norm(id);
        for (Accelerator a : accelerators) if (norm(a.id()).equals(want)) return a;
        throw new IllegalArgumentException("unknown accelerator '" + id + "' (known: "
                + accelerators.stream().map(Accelerator::id).collect(Collectors.joining(", ")) + ")");
    }

    /** The first server in the catalogue built around accelerator {@code acceleratorId}. */
    public Optional<Server> serverFor(String acceleratorId) {
        return servers.stream().filter(s -> norm(s.accelerator()).equals(norm(acceleratorId))).findFirst();
    }

    public Switch switchById(String id) {
        String want = norm(id);
        for (Switch s : switches) if (norm(s.id()).equals(want)) return s;
        throw new IllegalArgumentException("unknown switch '" + id + "' (known: "
                + switches.stream().map(Switch::id).collect(Collectors.joining(", ")) + ")");
    }

    /** The first catalogue switch with this radix and port speed. */
    public Optional<Switch> switchFor(int ports, double speedGbps) {
        return switches.stream().filter(s -> s.ports() == ports && s.portSpeedGbps() == speedGbps).findFirst();
    }

    /** The transceiver for a module speed (the lowest-power one when several match). */
    public Optional<Transceiver> transceiverFor(double speedGbps) {
        return transceivers.stream().filter(t -> t.speedGbps() == speedGbps)
                .min((a, b) -> Double.compare(a.powerW() == null ? 1e9 : a.powerW(), b.powerW() == null ? 1e9 : b.powerW()));
    }

    /** Every entry's id and source, for listing. */
    public Map<String, String> sources() {
        Map<String, String> m = new LinkedHashMap<>();
        accelerators.forEach(a -> m.put(a.id(), a.source()));
        servers.forEach(s -> m.put(s.id(), s.source()));
        switches.forEach(s -> m.put(s.id(), s.source()));
        transceivers.forEach(t -> m.put(t.id(), t.source()));
        return m;
    }

    private static String norm(String s) {
        return s == null ? "" : s.strip().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
