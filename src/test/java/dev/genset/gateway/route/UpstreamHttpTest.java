package dev.genset.gateway.route;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pooled upstream HTTP/1.1 client against raw loopback servers that behave in chosen ways. */
class UpstreamHttpTest {
    /** How a test server answers one request on a connection; returns false to close the connection afterwards. */
    @FunctionalInterface
    interface Answer {
        boolean answer(int request, String body, OutputStream out) throws Exception;
    }

    /** A raw HTTP/1.1 server: one platform thread per connection, requests counted. */
    static final class RawServer implements AutoCloseable {
        final ServerSocket socket;
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger connections = new AtomicInteger();
        final List<Socket> open = new ArrayList<>();

        RawServer(Answer answer) throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon(true).start(() -> {
                while (!socket.isClosed()) {
                    Socket s;
                    try {
                        s = socket.accept();
                    } catch (IOException e) {
                        return;
                    }
                    connections.incrementAndGet();
                    synchronized (open) {
                        open.add(s);
                    }
                    Thread.ofPlatform().daemon(true).start(() -> serve(s, answer));
                }
            });
        }

        private void serve(Socket s, Answer answer) {
            try (s) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                while (true) {
                    long length = -1;
                    String line = line(in);
                    if (line == null) return;
                    while (!(line = line(in)).isEmpty())
                        if (line.toLowerCase().startsWith("content-length:")) length = Long.parseLong(line.substring(15).trim());
                    String body = new String(in.readNBytes((int) Math.max(0, length)), StandardCharsets.UTF_8);
                    int n = requests.incrementAndGet();
                    boolean keep = answer.answer(n, body, out);
                    out.flush();
                    if (!keep) return;
                }
            } catch (Exception ignored) {
                // the client went away
            }
        }

        private static String line(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
                if (c != '\r') b.write(c);
            }
            return b.toString(StandardCharsets.ISO_8859_1);
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/v1/chat/completions");
        }

        @Override
        public void close() throws IOException {
            socket.close();
            synchronized (open) {
                for (Socket s : open) s.close();
            }
        }
    }

    static void ok(OutputStream out, String body, String... extraHeaders) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n");
        for (String x : extraHeaders) h.append(x).append("\r\n");
        out.write(h.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
    }

    private final List<AutoCloseable> closeMe = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeMe) c.close();
    }

    private RawServer server(Answer a) throws IOException {
        RawServer s = new RawServer(a);
        closeMe.add(s);
        return s;
    }

    private UpstreamHttp client() {
        UpstreamHttp h = new UpstreamHttp(2_000);
        closeMe.add(h);
        return h;
    }

    private static String post(UpstreamHttp h, URI uri, String body) throws IOException {
        UpstreamHttp.Response r = h.post(uri, Map.of("Content-Type", "application/json"), body.getBytes(StandardCharsets.UTF_8), 2_000, 2_000);
        assertThat(r.status()).isEqualTo(200);
        try (InputStream in = r.body()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void requestsShareOneKeepAliveConnection() throws Exception {
        RawServer s = server((n, body, out) -> {
            ok(out, "{\"n\":" + n + ",\"echo\":" + body + "}");
            return true;
        });
        UpstreamHttp h = client();
        for (int i = 1; i <= 20; i++) assertThat(post(h, s.uri(), "{\"i\":" + i + "}")).isEqualTo("{\"n\":" + i + ",\"echo\":{\"i\":" + i + "}}");
        assertThat(s.connections.get()).isEqualTo(1);
        assertThat(h.connectionsOpened()).isEqualTo(1);
    }

    @Test
    void aConnectionTheServerClosesAfterAnsweringIsNeitherReusedNorLosesOrRepeatsARequest() throws Exception {
        RawServer s = server((n, body, out) -> {
            ok(out, "{\"n\":" + n + "}"); // no "Connection: close": the client learns of the close only from the socket
            return false;
        });
        UpstreamHttp h = client();
        for (int i = 1; i <= 20; i++) {
            assertThat(post(h, s.uri(), "{}")).isEqualTo("{\"n\":" + i + "}");
            if (i % 2 == 0) Thread.sleep(20); // some closes seen before reuse, others (likely) not yet
        }
        assertThat(s.requests.get()).isEqualTo(20); // each request reached the server exactly once
        assertThat(s.connections.get()).isEqualTo(20);
    }

    @Test
    void chunkedBodiesKeepTheConnectionAndCloseDelimitedOnesEndIt() throws Exception {
        RawServer s = server((n, body, out) -> {
            if (n <= 2) {
                out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                return true;
            }
            out.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end".getBytes(StandardCharsets.ISO_8859_1));
            return false;
        });
        UpstreamHttp h = client();
        assertThat(post(h, s.uri(), "{}")).isEqualTo("hello, world");
        assertThat(post(h, s.uri(), "{}")).isEqualTo("hello, world");
        assertThat(post(h, s.uri(), "{}")).isEqualTo("until the end");
        assertThat(s.connections.get()).isEqualTo(1);
        assertThat(h.connectionsOpened()).isEqualTo(1);
    }

    @Test
    void noResponseHeadersInTimeIsATimeoutAndTheConnectionIsDropped() throws Exception {
        RawServer s = server((n, body, out) -> {
            if (n == 1) Thread.sleep(3_000);
            ok(out, "{}");
            return true;
        });
        UpstreamHttp h = client();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> h.post(s.uri(), Map.of(), new byte[0], 300, 300)).isInstanceOf(UpstreamHttp.HeaderTimeoutException.class);
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2_500);
        assertThat(post(h, s.uri(), "{}")).isEqualTo("{}"); // on a new connection, not behind the late answer
        assertThat(h.connectionsOpened()).isEqualTo(2);
    }

    @Test
    void aBodyClosedBeforeItsEndDiscardsTheConnection() throws Exception {
        RawServer s = server((n, body, out) -> {
            ok(out, "{\"n\":" + n + ",\"pad\":\"" + "x".repeat(100_000) + "\"}");
            return true;
        });
        UpstreamHttp h = client();
        UpstreamHttp.Response r = h.post(s.uri(), Map.of(), new byte[0], 2_000, 2_000);
        assertThat(r.body().read(new byte[10])).isEqualTo(10);
        r.body().close();
        assertThat(post(h, s.uri(), "{}")).startsWith("{\"n\":2,");
        assertThat(h.connectionsOpened()).isEqualTo(2);
    }
}
