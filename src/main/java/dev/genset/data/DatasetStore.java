package dev.genset.data;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.genset.models.Digests;
import dev.genset.models.GensetHome;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Datasets under the data directory, versioned and hashed. Adding a file stores an unchanged copy
 * as the next version ({@code NAME@1}, {@code NAME@2}, ...) with its SHA-256, row count and inferred
 * schema; versions are never rewritten and their numbers never reused while the dataset exists.
 *
 * <pre>
 * HOME/datasets/&lt;name&gt;/&lt;version&gt;/data.jsonl|data.csv   the file as added
 * HOME/datasets/&lt;name&gt;/&lt;version&gt;/dataset.json         {@link DatasetInfo}
 * HOME/datasets/&lt;name&gt;/last-version                    highest number ever given
 * </pre>
 *
 * Evaluation reads a dataset by name: {@code DatasetStore.atDefaultHome().open("qa@2")} iterates its
 * records as maps (JSONL objects as parsed; CSV rows keyed by the header, values typed by their column).
 */
public final class DatasetStore {
    static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,127}");
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};

    private final Path root;

    private DatasetStore(Path home) {
        this.root = home.toAbsolutePath().normalize().resolve("datasets");
    }

    public static DatasetStore at(Path home) {
        return new DatasetStore(home);
    }

    /** The store under GENSET_HOME, default ~/.genset. */
    public static DatasetStore atDefaultHome() {
        return new DatasetStore(GensetHome.resolve());
    }

    public Path root() {
        return root;
    }

    /** The result of {@link #add}: the version, and whether it is new (false: the latest version had the same bytes). */
    public record Added(DatasetInfo info, boolean created) {}

    /** A parsed "name" or "name@version" (version 0: the latest). */
    record Ref(String name, int version) {
        static Ref parse(String text) {
            if (text == null || text.isBlank()) throw new IllegalArgumentException("a dataset name is required");
            String t = text.trim().toLowerCase(Locale.ROOT);
            int at = t.indexOf('@');
            String name = at < 0 ? t : t.substring(0, at);
            int version = 0;
            if (at >= 0) {
                String v = t.substring(at + 1);
                if (!v.equals("latest")) {
                    try {
                        version = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        version = -1;
                    }
                    if (version < 1) throw new IllegalArgumentException("invalid dataset version '" + v + "' in '" + text + "': versions are 1, 2, ... or latest");
                }
            }
            checkName(name);
            return new Ref(name, version);
        }
    }

    static String checkName(String name) {
        if (!NAME.matcher(name).matches() || name.endsWith("."))
            throw new IllegalArgumentException("invalid dataset name '" + name + "': use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit");
        return name;
    }

    // ---- adding --------------------------------------------------------------------------------

    /**
     * Stores {@code file} as the next version of {@code name}. {@code format} is "jsonl" or "csv"
     * (null: from the file extension: .jsonl/.ndjson/.json for JSONL, .csv). The file must parse
     * completely; its schema is inferred while it is checked.
     */
    public Added add(String name, Path file, String format) throws IOException {
        name = checkName(name.trim().toLowerCase(Locale.ROOT));
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
        String fmt = format != null ? format.toLowerCase(Locale.ROOT) : formatOf(file);
        Path tmpDir = root.resolve(".tmp");
        Files.createDirectories(tmpDir);
        Path tmp = Files.createTempFile(tmpDir, name + "-", "." + fmt);
        try {
            MessageDigest md = Digests.sha256();
            try (InputStream in = Files.newInputStream(file); OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
                in.transferTo(out);
            }
            String sha = Digests.hex(md.digest());
            List<DatasetInfo> existing = versions(name);
            if (!existing.isEmpty()) {
                DatasetInfo latest = existing.getLast();
                if (latest.sha256().equals(sha) && latest.format().equals(fmt)) return new Added(latest, false);
            }
            Inferred inferred = infer(tmp, fmt, file.getFileName().toString());
            Path dir = root.resolve(name);
            Files.createDirectories(dir);
            int version = Math.max(lastVersion(dir), existing.isEmpty() ? 0 : existing.getLast().version()) + 1;
            Path vdir;
            while (true) { // claim the number; another process may take it first
                vdir = dir.resolve(Integer.toString(version));
                try {
                    Files.createDirectory(vdir);
                    break;
                } catch (FileAlreadyExistsException e) {
                    version++;
                }
            }
            Files.writeString(dir.resolve("last-version"), Integer.toString(version));
            DatasetInfo info = new DatasetInfo(name, version, fmt, sha, Files.size(tmp), inferred.rows(), inferred.schema(),
                    file.toAbsolutePath().normalize().toString(), Instant.now().toString());
            move(tmp, vdir.resolve(info.fileName()));
            Path infoTmp = vdir.resolve("dataset.json.tmp");
            PRETTY.writeValue(infoTmp.toFile(), info);
            move(infoTmp, vdir.resolve("dataset.json")); // the version exists once this file does
            return new Added(info, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String formatOf(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json")) return "jsonl";
        if (n.endsWith(".csv")) return "csv";
        if (n.endsWith(".parquet"))
            throw new IllegalArgumentException("Parquet is not supported yet (no small, well-kept pure-Java Parquet reader fits); convert " + file.getFileName() + " to JSONL or CSV");
        throw new IllegalArgumentException("cannot tell the format of " + file.getFileName() + ": name it .jsonl or .csv, or give --format jsonl|csv");
    }

    private static int lastVersion(Path dir) {
        try {
            return Integer.parseInt(Files.readString(dir.resolve("last-version")).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private record Inferred(Schema schema, long rows) {}

    private static Inferred infer(Path file, String format, String label) throws IOException {
        Schema.Builder b = new Schema.Builder();
        switch (format) {
            case "jsonl" -> {
                try (Stream<Map<String, Object>> rows = readJsonl(file, label)) {
                    rows.forEach(b::add);
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
            }
            case "csv" -> {
                CsvColumns cols = CsvColumns.infer(file, label);
                List<Schema.Field> fields = new ArrayList<>();
                for (int i = 0; i < cols.names().size(); i++) {
                    List<String> types = new ArrayList<>();
                    if (cols.types()[i] != null) types.add(cols.types()[i]);
                    if (cols.nullable()[i]) types.add("null");
                    fields.add(new Schema.Field(cols.names().get(i), List.copyOf(types), cols.rows(), true));
                }
                return new Inferred(new Schema(fields), cols.rows());
            }
            default -> throw new IllegalArgumentException("unsupported dataset format '" + format + "': jsonl or csv");
        }
        return new Inferred(b.build(), b.rows());
    }

    // ---- reading -------------------------------------------------------------------------------

    /** Every version of every dataset, by name then version. */
    public List<DatasetInfo> list() throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        List<DatasetInfo> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path d : s.sorted().toList()) {
                String n = d.getFileName().toString();
                if (Files.isDirectory(d) && NAME.matcher(n).matches()) out.addAll(versions(n));
            }
        }
        return out;
    }

    /** The versions of {@code name}, oldest first (empty if there is no such dataset). */
    public List<DatasetInfo> versions(String name) throws IOException {
        Path dir = root.resolve(checkName(name));
        if (!Files.isDirectory(dir)) return List.of();
        List<DatasetInfo> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path v : s.toList()) {
                Path info = v.resolve("dataset.json");
                if (v.getFileName().toString().matches("\\d+") && Files.isRegularFile(info))
                    out.add(JSON.readValue(info.toFile(), DatasetInfo.class));
            }
        }
        out.sort(Comparator.comparingInt(DatasetInfo::version));
        return out;
    }

    /** The version a reference names ("name" is the latest). */
    public DatasetInfo info(String ref) throws IOException {
        Ref r = Ref.parse(ref);
        List<DatasetInfo> vs = versions(r.name());
        if (vs.isEmpty()) throw new NoSuchDatasetException("dataset '" + r.name() + "' not found (genset data list shows the datasets)");
        if (r.version() == 0) return vs.getLast();
        return vs.stream().filter(i -> i.version() == r.version()).findFirst().orElseThrow(() -> new NoSuchDatasetException(
                "dataset " + r.name() + "@" + r.version() + " not found; versions: " + String.join(", ", vs.stream().map(DatasetInfo::ref).toList())));
    }

    /** The stored file of a version. */
    public Path file(DatasetInfo info) {
        return root.resolve(info.name()).resolve(Integer.toString(info.version())).resolve(info.fileName());
    }

    /** The records of {@code name} or {@code name@version}, read lazily from disk on each iteration. */
    public Dataset open(String ref) throws IOException {
        DatasetInfo info = info(ref);
        return new Dataset(info, file(info));
    }

    /** Removes one version ({@code name@v}) or every version ({@code name}); returns what was removed. */
    public List<DatasetInfo> remove(String ref) throws IOException {
        Ref r = Ref.parse(ref);
        List<DatasetInfo> removed = r.version() == 0 ? versions(r.name()) : List.of(info(ref));
        if (removed.isEmpty()) throw new NoSuchDatasetException("dataset '" + r.name() + "' not found");
        Path dir = root.resolve(r.name());
        for (DatasetInfo i : removed) {
            Path v = dir.resolve(Integer.toString(i.version()));
            Files.deleteIfExists(v.resolve("dataset.json")); // first: the version is gone even if the rest fails
            deleteTree(v);
        }
        if (versions(r.name()).isEmpty()) deleteTree(dir);
        return removed;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }

    /** Thrown for a dataset name or version that does not exist. */
    public static final class NoSuchDatasetException extends IOException {
        public NoSuchDatasetException(String message) {
            super(message);
        }
    }

    // ---- parsing -------------------------------------------------------------------------------

    /** JSONL records; blank lines skipped; a line that is not a JSON object fails naming its number. */
    static Stream<Map<String, Object>> readJsonl(Path file, String label) throws IOException {
        BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        Iterator<Map<String, Object>> it = new Iterator<>() {
            long line;
            Map<String, Object> next;

            @Override
            public boolean hasNext() {
                if (next != null) return true;
                try {
                    String s;
                    while ((s = r.readLine()) != null) {
                        line++;
                        if (line == 1 && s.startsWith("\uFEFF")) s = s.substring(1);
                        if (s.isBlank()) continue;
                        try {
                            var node = JSON.readTree(s);
                            if (node == null || !node.isObject()) throw new IOException(label + " line " + line + ": not a JSON object");
                            next = JSON.convertValue(node, MAP);
                        } catch (com.fasterxml.jackson.core.JacksonException e) {
                            throw new IOException(label + " line " + line + ": invalid JSON (" + e.getOriginalMessage() + ")");
                        }
                        return true;
                    }
                    return false;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public Map<String, Object> next() {
                if (!hasNext()) throw new NoSuchElementException();
                Map<String, Object> n = next;
                next = null;
                return n;
            }
        };
        return java.util.stream.StreamSupport.stream(java.util.Spliterators.spliteratorUnknownSize(it, java.util.Spliterator.ORDERED), false).onClose(() -> {
            try {
                r.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
