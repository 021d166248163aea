package dev.genset.models;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local server laid out like Hugging Face: {@code /OWNER/REPO/resolve/main/FILE} answers with a
 * redirect to {@code /cdn/FILE} on another host name (localhost instead of 127.0.0.1), stating the
 * file's SHA-256 as X-Linked-Etag as Hugging Face does for large files; {@code /direct/FILE} serves
 * the file itself with the SHA-256 as its ETag. Both honour Range requests. The first
 * {@link #cuts} file responses are cut after {@link #cutAfter} bytes (a dropped connection).
 */
final class HfTestServer implements AutoCloseable {
    record Request(String path, String range, String authorization) {}

    final HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final Map<String, String> statedSha = new ConcurrentHashMap<>(); // override what the server claims
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger cuts = new AtomicInteger();
    volatile int cutAfter = 300_000;
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

    HfTestServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** The Hugging Face endpoint for HF_ENDPOINT. */
    String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    void put(String name, byte[] bytes) {
        files.put(name, bytes);
    }

    private String sha(String file) {
        return statedSha.getOrDefault(file, Digests.sha256(files.get(file)));
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        requests.add(new Request(path, ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
        try (ex) {
            String[] parts = path.split("/");
            // /OWNER/REPO/resolve/main/FILE
            if (parts.length == 6 && parts[3].equals("resolve") && files.containsKey(parts[5])) {
                String file = parts[5];
                ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha(file) + "\"");
                ex.getResponseHeaders().add("X-Linked-Size", Integer.toString(files.get(file).length));
                ex.getResponseHeaders().add("ETag", "W/\"1234-abcdef\"");
                ex.getResponseHeaders().add("Location", "http://localhost:" + port() + "/cdn/" + file);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            if (parts.length == 3 && (parts[1].equals("cdn") || parts[1].equals("direct")) && files.containsKey(parts[2])) {
                serve(ex, parts[2], parts[1].equals("direct"));
                return;
            }
            byte[] body = "Entry not found".getBytes();
            ex.sendResponseHeaders(404, body.length);
            ex.getResponseBody().write(body);
        }
    }

    private void serve(HttpExchange ex, String file, boolean shaEtag) throws IOException {
        byte[] data = files.get(file);
        long start = 0, end = data.length - 1;
        String range = ex.getRequestHeaders().getFirst("Range");
        ex.getResponseHeaders().add("Accept-Ranges", "bytes");
        ex.getResponseHeaders().add("ETag", shaEtag ? "\"" + sha(file) + "\"" : "\"0123456789abcdef0123456789abcdef\"");
        int status = 200;
        if (range != null) {
            Matcher m = RANGE.matcher(range);
            if (m.matches()) {
                start = Long.parseLong(m.group(1));
                if (!m.group(2).isEmpty()) end = Math.min(end, Long.parseLong(m.group(2)));
                if (start >= data.length) {
                    ex.getResponseHeaders().add("Content-Range", "bytes */" + data.length);
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                status = 206;
                ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + end + "/" + data.length);
            }
        }
        long length = end - start + 1;
        ex.sendResponseHeaders(status, length);
        OutputStream out = ex.getResponseBody();
        if (cuts.getAndUpdate(c -> Math.max(0, c - 1)) > 0) {
            int n = (int) Math.min(cutAfter, length);
            out.write(data, (int) start, n);
            out.flush();
            // end the exchange with the body unfinished: the server drops the connection mid-file
            throw new IOException("connection cut by the test");
        }
        out.write(data, (int) start, (int) length);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
