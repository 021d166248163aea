package dev.genset.models;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads a model into a {@link ModelStore}: resolves hf:// sources, resumes with HTTP Range
 * (across runs, from the partial file, and within a run after a dropped connection, retrying with
 * backoff), verifies the SHA-256 and the GGUF format, then commits the file atomically.
 */
final class ModelPuller {
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern UNSATISFIED_RANGE = Pattern.compile("bytes\\s+\\*/(\\d+)");

    /** Where a source string points: the URL to fetch, how to name it to the user, the default model name. */
    record Source(URI uri, String display, String fileName, boolean huggingFace) {}

    /** What the partial folder remembers about an interrupted download, to resume only the same file. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PartialMeta(String url, String sha256, Long size) {}

    private final ModelStore store;
    private final PullOptions options;
    private final HttpClient client;

    ModelPuller(ModelStore store, PullOptions options) {
        this.store = store;
        this.options = options;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER) // followed by hand: the token must not leave the origin
                .connectTimeout(Duration.ofSeconds(30))
                .build();
    }

    /** hf://OWNER/REPO[@REVISION]/PATH/FILE.gguf or an http(s) URL. */
    static Source resolveSource(String source, Map<String, String> env) {
        String s = source.trim();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("hf://")) {
            String rest = s.substring(5);
            String[] parts = rest.split("/", 3);
            if (parts.length < 3 || parts[0].isEmpty() || parts[1].isEmpty() || parts[2].isEmpty() || parts[2].endsWith("/"))
                throw new IllegalArgumentException("a Hugging Face source is hf://OWNER/REPO/FILE.gguf, not " + source);
            String repo = parts[1], revision = "main";
            int at = repo.indexOf('@');
            if (at >= 0) {
                revision = repo.substring(at + 1);
                repo = repo.substring(0, at);
            }
            String endpoint = env.getOrDefault("HF_ENDPOINT", "");
            if (endpoint.isBlank()) endpoint = "https://huggingface.co";
            endpoint = endpoint.replaceAll("/+$", "");
            StringBuilder url = new StringBuilder(endpoint).append('/').append(encode(parts[0])).append('/').append(encode(repo))
                    .append("/resolve/").append(encode(revision));
            for (String seg : parts[2].split("/")) url.append('/').append(encode(seg));
            String file = parts[2].substring(parts[2].lastIndexOf('/') + 1);
            return new Source(URI.create(url.toString()), source + " (" + url + ")", file, true);
        }
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            URI uri;
            try {
                uri = URI.create(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid URL " + source + ": " + e.getMessage());
            }
            String path = uri.getPath() == null ? "" : uri.getPath();
            String file = path.substring(path.lastIndexOf('/') + 1);
            return new Source(uri, s, file.isEmpty() ? "model" : file, false);
        }
        throw new IllegalArgumentException("cannot pull '" + source + "': use hf://OWNER/REPO/FILE.gguf or an http(s):// URL (genset import adds local files)");
    }

    private static String encode(String segment) {
        StringBuilder sb = new StringBuilder();
        for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) sb.append(c);
            else sb.append('%').append(String.format("%02X", b & 0xff));
        }
        return sb.toString();
    }

    Manifest pull(String sourceText) throws IOException {
        Source source = resolveSource(sourceText, options.env());
        ModelRef ref = ModelRef.parse(options.name() != null ? options.name() : ModelRef.nameFromFile(source.fileName()));
        Path partialDir = store.partialDir();
        Files.createDirectories(partialDir);
        String key = Digests.sha256(source.uri().toString().getBytes(StandardCharsets.UTF_8)).substring(0, 16);
        String safeFile = source.fileName().replaceAll("[^A-Za-z0-9._-]", "_");
        Path part = partialDir.resolve(safeFile + "." + key + ".partial");
        Path meta = partialDir.resolve(safeFile + "." + key + ".json");
        Path lockFile = partialDir.resolve(safeFile + "." + key + ".lock");
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) throw new ModelStoreException("another pull of " + source.display() + " is running; wait for it to finish");
            try {
                return pull(sourceText, source, ref, part, meta);
            } finally {
                Files.deleteIfExists(lockFile);
                lock.release();
            }
        } finally {
            deleteIfEmpty(partialDir);
        }
    }

    private Manifest pull(String sourceText, Source source, ModelRef ref, Path part, Path meta) throws IOException {
        Path partialDir = part.getParent();
        String remoteSha = download(source, ref, part, meta);

        options.progress().note("verifying sha256 ...");
        String actual = Digests.sha256(part);
        String expected = options.sha256() != null ? options.sha256() : remoteSha;
        if (expected != null && !expected.equals(actual)) {
            discard(part, meta);
            throw new ModelStoreException("checksum mismatch for " + source.display() + ": expected sha256 " + expected
                    + (options.sha256() != null ? " (--sha256)" : " (stated by the server)") + ", got " + actual + "; the download was deleted");
        }
        try {
            Manifest m = store.commit(part, actual, ref, sourceText.trim());
            Files.deleteIfExists(meta);
            deleteIfEmpty(partialDir);
            return m;
        } catch (ModelStoreException e) { // not a GGUF file: nothing to resume
            discard(part, meta);
            throw new ModelStoreException(source.display() + " is not a valid GGUF file; the download was deleted (" + e.getMessage() + ")", e);
        }
    }

    private static void discard(Path part, Path meta) throws IOException {
        Files.deleteIfExists(part);
        Files.deleteIfExists(meta);
        deleteIfEmpty(part.getParent());
    }

    private static void deleteIfEmpty(Path dir) {
        try {
            Files.delete(dir);
        } catch (IOException ignored) {
            // not empty, or already gone
        }
    }

    /** A failure worth retrying (5xx, 429, dropped connections). */
    private static final class RetryableException extends IOException {
        RetryableException(String message) {
            super(message);
        }
    }

    /** Downloads into {@code part}, resuming from what it holds. Returns the server's SHA-256, if it stated one. */
    private String download(Source source, ModelRef ref, Path part, Path metaPath) throws IOException {
        PartialMeta meta = readMeta(metaPath);
        if (meta == null || !source.uri().toString().equals(meta.url())) {
            Files.deleteIfExists(part); // bytes of unknown origin: start over
            meta = new PartialMeta(source.uri().toString(), null, null);
        }
        String remoteSha = meta.sha256();
        long total = meta.size() == null ? -1 : meta.size();
        long have = Files.exists(part) ? Files.size(part) : 0;
        Progress progress = options.progress();
        boolean started = false;
        int failures = 0, attempts = 0;
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "genset-pull-watchdog");
            t.setDaemon(true);
            return t;
        });
        try {
            while (true) {
                long before = have;
                attempts++;
                Stall stall = new Stall(Thread.currentThread(), options.idleTimeout().toNanos());
                var check = watchdog.scheduleAtFixedRate(stall::check, 250, 250, TimeUnit.MILLISECONDS);
                try {
                    Response r = open(source.uri(), have);
                    try (InputStream body = r.body()) {
                        if (r.sha256() != null) {
                            if (remoteSha != null && !remoteSha.equals(r.sha256()) && have > 0) {
                                progress.note("the file changed on the server since the partial download; starting over");
                                have = truncate(part);
                            }
                            remoteSha = r.sha256();
                        }
                        int code = r.status();
                        if (code == 200) {
                            if (have > 0) progress.note("the server does not support resuming; starting over");
                            have = truncate(part);
                            total = r.headers().firstValueAsLong("content-length").orElse(r.linkedSize());
                        } else if (code == 206) {
                            Matcher m = CONTENT_RANGE.matcher(r.headers().firstValue("content-range").orElse(""));
                            if (!m.find()) throw new ModelStoreException("bad Content-Range from " + source.display() + ": " + r.headers().firstValue("content-range").orElse("(none)"));
                            if (Long.parseLong(m.group(1)) != have) {
                                progress.note("the server resumed at the wrong offset; starting over");
                                have = truncate(part);
                                continue;
                            }
                            total = m.group(3).equals("*") ? r.linkedSize() : Long.parseLong(m.group(3));
                        } else if (code == 416) {
                            Matcher m = UNSATISFIED_RANGE.matcher(r.headers().firstValue("content-range").orElse(""));
                            long size = m.find() ? Long.parseLong(m.group(1)) : -1;
                            if (size > 0 && size == have) { // the partial file is already complete
                                writeMeta(metaPath, new PartialMeta(meta.url(), remoteSha, size));
                                return remoteSha;
                            }
                            if (have == 0) throw new ModelStoreException("HTTP 416 (range not satisfiable) for " + source.display());
                            progress.note("the partial download is larger than the file on the server; starting over");
                            have = truncate(part);
                            continue;
                        } else {
                            throw httpError(code, source, r.uri());
                        }
                        writeMeta(metaPath, new PartialMeta(meta.url(), remoteSha, total < 0 ? null : total));
                        if (!started) {
                            progress.start("pulling " + ref, have, total);
                            started = true;
                        } else {
                            progress.update(have);
                        }
                        have = copy(body, part, have, stall, progress);
                    }
                    if (total >= 0 && have < total)
                        throw new RetryableException("connection closed after " + have + " of " + total + " bytes");
                    if (total >= 0 && have > total) {
                        discard(part, metaPath);
                        throw new ModelStoreException(source.display() + ": the server sent more bytes than it announced (" + have + " > " + total + ")");
                    }
                    progress.end();
                    return remoteSha;
                } catch (ModelStoreException e) {
                    if (started) progress.end();
                    throw e;
                } catch (IOException e) {
                    boolean stalled = stall.fired();
                    if (stalled) Thread.interrupted(); // the watchdog's interrupt, not the user's
                    else if (e instanceof InterruptedIOException || Thread.currentThread().isInterrupted()) throw e;
                    have = Files.exists(part) ? Files.size(part) : 0;
                    if (have > before) failures = 0;
                    failures++;
                    String why = stalled ? "no data for " + options.idleTimeout().toSeconds() + "s" : describe(e);
                    if (failures > options.retries() || e instanceof ConnectException && attempts == 1) { // nothing listens there: say so at once
                        if (started) progress.end();
                        throw new ModelStoreException("download of " + source.display() + " failed: " + why
                                + (have > 0 ? " (" + have + " bytes kept in " + part.getParent() + "; run the same pull again to resume)" : ""), e);
                    }
                    long delay = Math.min(30_000L, options.backoff().toMillis() << Math.min(20, failures - 1));
                    progress.note("download interrupted at " + ModelDetails.formatBytes(have) + " (" + why + "); retrying in "
                            + (delay >= 1000 ? delay / 1000 + "s" : delay + "ms") + " ...");
                    try {
                        Thread.sleep(delay);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("pull interrupted");
                    }
                } finally {
                    check.cancel(false);
                    if (stall.fired()) Thread.interrupted();
                }
            }
        } finally {
            watchdog.shutdownNow();
        }
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private IOException httpError(int code, Source source, URI at) {
        String where = source.display() + (at.equals(source.uri()) ? "" : " (redirected to " + at + ")");
        return switch (code) {
            case 404, 410 -> new ModelStoreException("not found (HTTP " + code + "): " + where
                    + (source.huggingFace() ? "; check the owner, repository and file name" : ""));
            case 401, 403 -> new ModelStoreException("access denied (HTTP " + code + "): " + where
                    + (source.huggingFace() ? (options.env().containsKey("HF_TOKEN") ? "; HF_TOKEN has no access to this repository (gated models need their licence accepted)"
                    : "; set HF_TOKEN to a Hugging Face token that has access") : ""));
            case 408, 429, 500, 502, 503, 504 -> new RetryableException("HTTP " + code + " from " + where);
            default -> new ModelStoreException("HTTP " + code + " from " + where);
        };
    }

    /** The final response after redirects, and what the hops said about the file. */
    private record Response(int status, HttpHeaders headers, InputStream body, URI uri, String sha256, long linkedSize) {}

    private Response open(URI uri, long from) throws IOException {
        String token = Optional.ofNullable(options.env().get("HF_TOKEN")).filter(t -> !t.isBlank()).orElse(null);
        URI cur = uri;
        String linkedSha = null, etagSha = null;
        long linkedSize = -1;
        for (int hop = 0; hop <= 10; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(cur).GET().timeout(Duration.ofSeconds(60))
                    .header("User-Agent", "genset/0.1");
            if (from > 0) b.header("Range", "bytes=" + from + "-");
            if (token != null && sameOrigin(cur, uri)) b.header("Authorization", "Bearer " + token);
            HttpResponse<InputStream> r;
            try {
                r = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("pull interrupted");
            } catch (IllegalArgumentException e) {
                throw new ModelStoreException("invalid URL " + cur + ": " + e.getMessage());
            }
            HttpHeaders h = r.headers();
            // Hugging Face states a large file's SHA-256 as X-Linked-Etag on the redirect to its CDN,
            // and as the ETag when it serves the file itself.
            if (linkedSha == null) linkedSha = Digests.normalizeSha256(h.firstValue("x-linked-etag").orElse(null));
            if (etagSha == null) etagSha = Digests.normalizeSha256(h.firstValue("etag").orElse(null));
            if (linkedSize < 0) linkedSize = h.firstValueAsLong("x-linked-size").orElse(-1);
            int code = r.statusCode();
            Optional<String> location = h.firstValue("location");
            if ((code == 301 || code == 302 || code == 303 || code == 307 || code == 308) && location.isPresent()) {
                r.body().close();
                cur = cur.resolve(location.get());
                continue;
            }
            return new Response(code, h, r.body(), cur, linkedSha != null ? linkedSha : etagSha, linkedSize);
        }
        throw new ModelStoreException("too many redirects from " + uri);
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private static long truncate(Path part) throws IOException {
        Files.deleteIfExists(part);
        return 0;
    }

    /** Appends the body to {@code part}; returns the file's size when the body ends or fails. */
    private static long copy(InputStream body, Path part, long have, Stall stall, Progress progress) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.position(have);
            try {
                for (int n; (n = body.read(buf)) >= 0; ) {
                    if (n == 0) continue;
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) ch.write(bb);
                    have += n;
                    stall.progressed();
                    progress.update(have);
                }
            } finally {
                if (ch.isOpen()) ch.force(false);
            }
        }
        return have;
    }

    private static PartialMeta readMeta(Path p) {
        if (!Files.isRegularFile(p)) return null;
        try {
            return ModelStore.JSON.readValue(p.toFile(), PartialMeta.class);
        } catch (IOException e) {
            return null;
        }
    }

    private static void writeMeta(Path p, PartialMeta m) throws IOException {
        Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
        ModelStore.JSON.writeValue(tmp.toFile(), m);
        ModelStore.moveAtomically(tmp, p);
    }

    /** Interrupts the downloading thread when no byte has arrived for the idle timeout. */
    private static final class Stall {
        private final Thread thread;
        private final long limitNanos;
        private volatile long last = System.nanoTime();
        private volatile boolean fired;

        Stall(Thread thread, long limitNanos) {
            this.thread = thread;
            this.limitNanos = limitNanos;
        }

        void progressed() {
            last = System.nanoTime();
        }

        void check() {
            if (!fired && System.nanoTime() - last > limitNanos) {
                fired = true;
                thread.interrupt();
            }
        }

        boolean fired() {
            return fired;
        }
    }
}
