package dev.genset.models;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
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
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Models on disk, content-addressed: each model file is a blob named by its SHA-256, and human
 * names ({@code name:tag}) are small JSON manifests pointing at blobs. Several names may share one
 * blob; a blob goes when the last name for it is removed.
 *
 * <pre>
 * HOME/models/blobs/sha256-&lt;hex&gt;               model files (GGUF), never modified
 * HOME/models/manifests/&lt;name&gt;/&lt;tag&gt;.json     one per name
 * HOME/models/partial/                         interrupted downloads, kept for resuming
 * HOME/models/tmp/                             files being imported or converted
 * </pre>
 *
 * Files enter the store only by an atomic rename of a complete, verified file, so a failed or
 * interrupted operation never leaves a half-written blob or manifest behind.
 */
public final class ModelStore {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path home;
    private final Path root;

    private ModelStore(Path home) {
        this.home = home.toAbsolutePath().normalize();
        this.root = this.home.resolve("models");
    }

    /** The store under {@code home} (created lazily, on the first write). */
    public static ModelStore at(Path home) {
        return new ModelStore(home);
    }

    /** The store under GENSET_HOME, default ~/.genset. */
    public static ModelStore atDefaultHome() {
        return new ModelStore(GensetHome.resolve());
    }

    /**
     * The file for a model named on a command line or in a request: {@code nameOrPath} itself if
     * that file exists, else the blob of the store name {@code nameOrPath} (under GENSET_HOME).
     */
    public static Path resolveDefault(String nameOrPath) throws ModelStoreException {
        return atDefaultHome().resolve(nameOrPath);
    }

    public Path home() { return home; }
    public Path root() { return root; }
    Path blobsDir() { return root.resolve("blobs"); }
    Path manifestsDir() { return root.resolve("manifests"); }
    Path partialDir() { return root.resolve("partial"); }
    Path tmpDir() { return root.resolve("tmp"); }

    public Path blobPath(String sha256Hex) {
        return blobsDir().resolve("sha256-" + sha256Hex);
    }

    private Path manifestPath(ModelRef ref) {
        Path p = manifestsDir();
        for (String segment : ref.name().split("/")) p = p.resolve(segment);
        return p.resolve(ref.tag() + ".json");
    }

    // ---- reading -------------------------------------------------------------------------------

    /** A file if {@code nameOrPath} names an existing one, else the blob of the store name. */
    public Path resolve(String nameOrPath) throws ModelStoreException {
        if (nameOrPath == null || nameOrPath.isBlank()) throw new IllegalArgumentException("a model name or file is required");
        Path file = null;
        try {
            file = Path.of(nameOrPath);
        } catch (RuntimeException ignored) {
            // not a valid path on this platform: only a store name can match
        }
        if (file != null && Files.isRegularFile(file)) return file;
        if (!ModelRef.isValid(nameOrPath))
            throw new ModelNotFoundException(nameOrPath, "model '" + nameOrPath + "' not found: no such file, and not a valid model name");
        Manifest m = find(ModelRef.parse(nameOrPath)).orElseThrow(() -> notFound(nameOrPath));
        Path blob = blobPath(m.sha256());
        if (!Files.isRegularFile(blob))
            throw new ModelStoreException("model " + m.ref() + " is damaged: its file " + blob.getFileName() + " is missing (pull or import it again)");
        return blob;
    }

    private ModelNotFoundException notFound(String name) {
        return new ModelNotFoundException(name, "model '" + name + "' not found: no such file and no such name in " + root
                + " (genset list shows the store; genset pull or genset import adds to it)");
    }

    /** The manifest of {@code ref}, if the store has that name. */
    public Optional<Manifest> find(ModelRef ref) throws ModelStoreException {
        Path p = manifestPath(ref);
        if (!Files.isRegularFile(p)) return Optional.empty();
        return Optional.of(readManifest(p));
    }

    /** The manifest of a name ({@code name} or {@code name:tag}); fails with a clear message if absent. */
    public Manifest get(String name) throws ModelStoreException {
        return find(ModelRef.parse(name)).orElseThrow(() -> new ModelNotFoundException(name,
                "model '" + ModelRef.parse(name) + "' not found in the store (genset list shows what is there)"));
    }

    private static Manifest readManifest(Path p) throws ModelStoreException {
        try {
            return JSON.readValue(p.toFile(), Manifest.class);
        } catch (IOException e) {
            throw new ModelStoreException("unreadable manifest " + p + ": " + e.getMessage(), e);
        }
    }

    /** Every name in the store, sorted by name and tag. */
    public List<Manifest> list() throws ModelStoreException {
        Path dir = manifestsDir();
        if (!Files.isDirectory(dir)) return List.of();
        List<Manifest> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(f -> f.getFileName().toString().endsWith(".json") && Files.isRegularFile(f)).toList())
                out.add(readManifest(p));
        } catch (IOException e) {
            throw new ModelStoreException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        out.sort(Comparator.comparing(Manifest::ref));
        return out;
    }

    // ---- changing names ------------------------------------------------------------------------

    /** Gives the model {@code source} a second name; replaces what {@code alias} named before. */
    public Manifest copy(String source, String alias) throws IOException {
        Manifest m = get(source);
        Manifest copy = m.withRef(ModelRef.parse(alias));
        writeManifest(copy);
        return copy;
    }

    /** Removes a name, and its blob if no other name uses it. Returns the removed manifest. */
    public Manifest remove(String name) throws IOException {
        Manifest m = get(name);
        Path p = manifestPath(m.ref());
        Files.deleteIfExists(p);
        deleteEmptyParents(p.getParent(), manifestsDir());
        collectGarbage();
        return m;
    }

    /** Deletes blobs no manifest names. Returns how many were deleted. */
    public int collectGarbage() throws IOException {
        Path blobs = blobsDir();
        if (!Files.isDirectory(blobs)) return 0;
        Set<String> used = new HashSet<>();
        for (Manifest m : list()) used.add("sha256-" + m.sha256());
        int n = 0;
        try (Stream<Path> s = Files.list(blobs)) {
            for (Path b : s.toList())
                if (!used.contains(b.getFileName().toString()) && Files.deleteIfExists(b)) n++;
        }
        return n;
    }

    private static void deleteEmptyParents(Path dir, Path stop) {
        while (dir != null && dir.startsWith(stop) && !dir.equals(stop)) {
            try {
                Files.delete(dir);
            } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                return;
            } catch (IOException e) {
                return;
            }
            dir = dir.getParent();
        }
    }

    // ---- adding models -------------------------------------------------------------------------

    /**
     * Copies a local GGUF file into the store under {@code name} (default: from the file name).
     * The file is hashed while it is copied and checked to be a valid GGUF file.
     */
    public Manifest importGguf(Path file, String name) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
        ModelRef ref = ModelRef.parse(name != null ? name : ModelRef.nameFromFile(file.getFileName().toString()));
        Files.createDirectories(tmpDir());
        Path tmp = Files.createTempFile(tmpDir(), "import-", ".gguf");
        try {
            MessageDigest md = Digests.sha256();
            try (InputStream in = Files.newInputStream(file); OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
                in.transferTo(out);
            }
            return commit(tmp, Digests.hex(md.digest()), ref, file.toAbsolutePath().normalize().toString());
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Converts a llama2.c checkpoint and its tokenizer to GGUF the way llama.cpp's
     * convert-llama2c-to-ggml does, and stores the result under {@code name}.
     */
    public Manifest importLlama2c(Path checkpoint, Path tokenizer, String name, int contextLength) throws IOException {
        ModelRef ref = ModelRef.parse(name != null ? name : ModelRef.nameFromFile(checkpoint.getFileName().toString()));
        Files.createDirectories(tmpDir());
        Path tmp = Files.createTempFile(tmpDir(), "convert-", ".gguf");
        try {
            Llama2cConverter.convert(checkpoint, tokenizer, tmp, contextLength);
            return commit(tmp, Digests.sha256(tmp), ref, checkpoint.toAbsolutePath().normalize().toString());
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Downloads a model (hf://OWNER/REPO/FILE.gguf or an http(s) URL) into the store. */
    public Manifest pull(String source, PullOptions options) throws IOException {
        return new ModelPuller(this, options).pull(source);
    }

    /**
     * Validates {@code file} (a complete GGUF file whose SHA-256 is {@code sha256}), moves it to its
     * blob and writes the manifest. {@code file} must lie in this store's file system.
     */
    Manifest commit(Path file, String sha256, ModelRef ref, String source) throws IOException {
        ModelDetails details;
        try (GgufFile gguf = GgufFile.open(file)) {
            details = ModelDetails.of(gguf);
        } catch (GgufFormatException e) {
            throw new ModelStoreException("not a valid GGUF file (" + source + "): " + e.getMessage(), e);
        }
        long size = Files.size(file);
        Path blob = blobPath(sha256);
        Files.createDirectories(blobsDir());
        if (Files.exists(blob) && Files.size(blob) == size) {
            Files.deleteIfExists(file); // the same content is already stored
        } else {
            try {
                Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
            moveAtomically(file, blob);
        }
        Manifest m = new Manifest(Manifest.SCHEMA_VERSION, ref.name(), ref.tag(), "sha256:" + sha256, size, "gguf",
                source, Instant.now().toString(), details);
        writeManifest(m);
        return m;
    }

    private void writeManifest(Manifest m) throws IOException {
        Path p = manifestPath(m.ref());
        Files.createDirectories(p.getParent());
        Path tmp = Files.createTempFile(p.getParent(), "." + m.tag(), ".json.tmp");
        try {
            JSON.writeValue(tmp.toFile(), m);
            moveAtomically(tmp, p);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (FileAlreadyExistsException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
