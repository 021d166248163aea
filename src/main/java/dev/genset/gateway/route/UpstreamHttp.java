package dev.genset.gateway.route;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small blocking HTTP/1.1 client for upstream calls, made for virtual threads: each request
 * runs on the caller's thread over a pooled keep-alive connection (plain or TLS), with no
 * selector thread, executor or futures in between. A connection goes back to the pool once its
 * response body has been read to the end; one closed early, cut, or timed out is discarded.
 *
 * <p>Before a pooled connection is reused it is checked without blocking for a close by the
 * server; a request that still fails on a reused connection before any byte of the response
 * arrived (the server closed it meanwhile) is sent once more on a new connection.
 */
final class UpstreamHttp implements AutoCloseable {
    /** An upstream's response: status, headers (names in lower case) and the body to read. */
    record Response(int status, Map<String, List<String>> headers, InputStream body) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.getFirst();
        }
    }

    /** No response headers within the request's timeout. */
    static final class HeaderTimeoutException extends IOException {
        HeaderTimeoutException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final int MAX_IDLE_PER_ORIGIN = 64;
    private static final long MAX_IDLE_NANOS = 30_000_000_000L;
    private static final int MAX_HEADER_BYTES = 64 * 1024;
    /** Bodies up to this declared length are read into an array of exactly their size. */
    private static final int EXACT_READ_MAX = 1 << 20;

    private final Map<String, ConcurrentLinkedDeque<Conn>> idle = new ConcurrentHashMap<>();
    private final int connectTimeoutMs;
    private final AtomicInteger opened = new AtomicInteger();
    private volatile boolean closed;

    UpstreamHttp(int connectTimeoutMs) {
        this.connectTimeoutMs = connectTimeoutMs;
    }

    /** Connections opened so far (a measure of reuse, for tests). */
    int connectionsOpened() {
        return opened.get();
    }

    /**
     * Sends a POST and returns once the response headers are in; the caller reads (and closes)
     * the body.
     *
     * @param headerTimeoutMs how long to wait for the response headers
     * @param idleTimeoutMs   how long any later read of the body may wait for data
     */
    Response post(URI uri, Map<String, String> headers, byte[] body, int headerTimeoutMs, int idleTimeoutMs) throws IOException {
        String origin = origin(uri);
        for (int attempt = 0; ; attempt++) {
            Conn c = attempt == 0 ? pooled(origin) : null;
            boolean reused = c != null;
            if (c == null) c = open(uri, origin);
            try {
                return c.exchange(uri, headers, body, headerTimeoutMs, idleTimeoutMs);
            } catch (IOException e) {
                c.close();
                // the server closed a pooled connection before answering: it never saw the request
                if (reused && c.nothingReceived && !(e instanceof HeaderTimeoutException)) continue;
                throw e;
            } catch (RuntimeException e) {
                c.close();
                throw e;
            }
        }
    }

    private static String first(Map<String, List<String>> headers, String name) {
        List<String> v = headers.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    private static boolean headerHas(Map<String, List<String>> headers, String name, String token) {
        List<String> v = headers.get(name);
        if (v == null) return false;
        for (String s : v)
            for (String t : s.split(","))
                if (t.trim().equalsIgnoreCase(token)) return true;
        return false;
    }

    private static String origin(URI uri) {
        String scheme = uri.getScheme() == null ? "http" : uri.getScheme().toLowerCase(Locale.ROOT);
        return scheme + "://" + uri.getHost() + ":" + port(uri);
    }

    private static int port(URI uri) {
        if (uri.getPort() > 0) return uri.getPort();
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private Conn pooled(String origin) {
        ConcurrentLinkedDeque<Conn> q = idle.get(origin);
        if (q == null) return null;
        long now = System.nanoTime();
        for (Conn c; (c = q.pollFirst()) != null; ) {
            if (now - c.idleSince < MAX_IDLE_NANOS && c.stillOpen()) return c;
            c.close();
        }
        return null;
    }

    private void release(Conn c) {
        if (closed) {
            c.close();
            return;
        }
        ConcurrentLinkedDeque<Conn> q = idle.computeIfAbsent(c.origin, k -> new ConcurrentLinkedDeque<>());
        c.idleSince = System.nanoTime();
        q.offerFirst(c);
        while (q.size() > MAX_IDLE_PER_ORIGIN) {
            Conn old = q.pollLast();
            if (old == null) break;
            old.close();
        }
    }

    private Conn open(URI uri, String origin) throws IOException {
        String host = uri.getHost();
        if (host == null) throw new IOException("no host in " + uri);
        int port = port(uri);
        SocketChannel ch = SocketChannel.open();
        try {
            Socket raw = ch.socket();
            raw.setTcpNoDelay(true);
            raw.setKeepAlive(true);
            raw.connect(new InetSocketAddress(host, port), connectTimeoutMs);
            Socket s = raw;
            if ("https".equalsIgnoreCase(uri.getScheme())) {
                SSLSocket ssl = (SSLSocket) tls().getSocketFactory().createSocket(raw, host, port, true);
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
                ssl.setSoTimeout(Math.max(1, connectTimeoutMs));
                ssl.startHandshake();
                s = ssl;
            }
            opened.incrementAndGet();
            return new Conn(origin, ch, s);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static SSLContext tls() throws IOException {
        try {
            return SSLContext.getDefault();
        } catch (NoSuchAlgorithmException e) {
            throw new IOException("no TLS: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (ConcurrentLinkedDeque<Conn> q : idle.values())
            for (Conn c; (c = q.pollFirst()) != null; ) c.close();
    }

    /** One connection: a request at a time. */
    private final class Conn {
        final String origin;
        final SocketChannel channel;
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        long idleSince;
        boolean nothingReceived;

        Conn(String origin, SocketChannel channel, Socket socket) throws IOException {
            this.origin = origin;
            this.channel = channel;
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            this.out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
        }

        /** Whether the server left the idle connection alone: nothing to read and no end of stream. */
        boolean stillOpen() {
            try {
                if (in.available() > 0) return false; // stray bytes on an idle connection: not to be trusted
                channel.configureBlocking(false);
                try {
                    return channel.read(ByteBuffer.allocate(1)) == 0;
                } finally {
                    channel.configureBlocking(true);
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        Response exchange(URI uri, Map<String, String> headers, byte[] body, int headerTimeoutMs, int idleTimeoutMs) throws IOException {
            nothingReceived = true;
            StringBuilder h = new StringBuilder(256);
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            if (uri.getRawQuery() != null) path += "?" + uri.getRawQuery();
            h.append("POST ").append(path).append(" HTTP/1.1\r\nHost: ").append(uri.getHost());
            if (uri.getPort() > 0) h.append(':').append(uri.getPort());
            h.append("\r\nUser-Agent: genset\r\nContent-Length: ").append(body.length).append("\r\n");
            for (Map.Entry<String, String> e : headers.entrySet()) h.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
            h.append("\r\n");
            out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();

            socket.setSoTimeout(Math.max(1, headerTimeoutMs));
            long deadline = System.nanoTime() + headerTimeoutMs * 1_000_000L;
            int status;
            boolean http10;
            Map<String, List<String>> responseHeaders;
            try {
                while (true) { // 1xx answers come before the real one
                    String statusLine = line(true);
                    nothingReceived = false;
                    if (statusLine.length() < 12 || !statusLine.startsWith("HTTP/1.")) throw new IOException("not an HTTP/1.x response: " + statusLine);
                    status = Integer.parseInt(statusLine.substring(9, 12));
                    http10 = statusLine.startsWith("HTTP/1.0");
                    responseHeaders = headers();
                    if (status >= 200 || status < 100) break;
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) throw new java.net.SocketTimeoutException("no final response in time");
                    socket.setSoTimeout((int) Math.max(1, left));
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new HeaderTimeoutException("no response within " + headerTimeoutMs + " ms", e);
            }
            socket.setSoTimeout(Math.max(1, idleTimeoutMs));
            boolean keepAlive = http10 ? headerHas(responseHeaders, "connection", "keep-alive") : !headerHas(responseHeaders, "connection", "close");
            String te = first(responseHeaders, "transfer-encoding");
            String cl = first(responseHeaders, "content-length");
            InputStream bodyIn;
            if (status == 204 || status == 304) {
                bodyIn = new Fixed(0, keepAlive);
            } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
                bodyIn = new Chunked(keepAlive);
            } else if (cl != null) {
                long n;
                try {
                    n = Long.parseLong(cl.trim());
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length " + cl);
                }
                bodyIn = new Fixed(n, keepAlive);
            } else {
                bodyIn = new UntilClose();
            }
            return new Response(status, responseHeaders, bodyIn);
        }

        private Map<String, List<String>> headers() throws IOException {
            Map<String, List<String>> m = new LinkedHashMap<>();
            int total = 0;
            for (String l; !(l = line(false)).isEmpty(); ) {
                total += l.length();
                if (total > MAX_HEADER_BYTES) throw new IOException("response headers too large");
                int colon = l.indexOf(':');
                if (colon <= 0) continue;
                m.computeIfAbsent(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>(1)).add(l.substring(colon + 1).trim());
            }
            return m;
        }

        private String line(boolean first) throws IOException {
            StringBuilder sb = new StringBuilder(64);
            while (true) {
                int c = in.read();
                if (c < 0) {
                    if (first && sb.isEmpty()) throw new EOFException("the upstream closed the connection");
                    throw new EOFException("the upstream closed the connection mid-line");
                }
                if (c == '\n') break;
                if (c != '\r') sb.append((char) c);
                if (sb.length() > MAX_HEADER_BYTES) throw new IOException("response line too long");
            }
            return sb.toString();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already gone
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // already gone
            }
        }

        /** A body of known length. */
        private final class Fixed extends Body {
            private long left;
            private final boolean keepAlive;

            Fixed(long length, boolean keepAlive) {
                this.left = length;
                this.keepAlive = keepAlive;
                if (length == 0) finish(keepAlive);
            }

            @Override
            int readSome(byte[] b, int off, int len) throws IOException {
                if (left == 0) return -1;
                int n = in.read(b, off, (int) Math.min(len, left));
                if (n < 0) throw new EOFException("the upstream closed the connection with " + left + " bytes of the body unsent");
                left -= n;
                if (left == 0) finish(keepAlive);
                return n;
            }

            /** Exactly the declared length (the default reads through a 16 KB buffer: most of what a routed request allocated). */
            @Override
            public byte[] readAllBytes() throws IOException {
                if (left > EXACT_READ_MAX) return super.readAllBytes(); // a huge declared length is not taken on trust
                byte[] all = new byte[(int) left];
                int got = 0;
                for (int n; got < all.length && (n = read(all, got, all.length - got)) > 0; ) got += n;
                return got == all.length ? all : Arrays.copyOf(all, got);
            }
        }

        /** A chunked body. */
        private final class Chunked extends Body {
            private long chunkLeft;
            private boolean end;
            private final boolean keepAlive;

            Chunked(boolean keepAlive) {
                this.keepAlive = keepAlive;
            }

            @Override
            int readSome(byte[] b, int off, int len) throws IOException {
                if (end) return -1;
                if (chunkLeft == 0) {
                    String size = line(false);
                    int semi = size.indexOf(';');
                    try {
                        chunkLeft = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
                    } catch (NumberFormatException e) {
                        throw new IOException("bad chunk size " + size);
                    }
                    if (chunkLeft == 0) {
                        while (!line(false).isEmpty()) { /* trailers */ }
                        end = true;
                        finish(keepAlive);
                        return -1;
                    }
                }
                int n = in.read(b, off, (int) Math.min(len, chunkLeft));
                if (n < 0) throw new EOFException("the upstream closed the connection mid-chunk");
                chunkLeft -= n;
                if (chunkLeft == 0) line(false); // the CRLF after the chunk
                return n;
            }
        }

        /** A body that ends when the server closes the connection. */
        private final class UntilClose extends Body {
            @Override
            int readSome(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n < 0) finish(false);
                return n;
            }
        }

        /** The body stream: hands the connection back when read to its end, discards it when closed early or failed. */
        private abstract class Body extends InputStream {
            private boolean done;

            abstract int readSome(byte[] b, int off, int len) throws IOException;

            final void finish(boolean reusable) {
                if (done) return;
                done = true;
                if (reusable) release(Conn.this);
                else Conn.this.close();
            }

            @Override
            public final int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) return 0;
                if (done) return -1;
                try {
                    return readSome(b, off, len);
                } catch (IOException | RuntimeException e) {
                    finish(false);
                    throw e;
                }
            }

            @Override
            public final int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int available() throws IOException {
                return done ? 0 : Math.min(in.available(), 1);
            }

            @Override
            public void close() {
                finish(false); // not read to the end: the rest of the response would be in the way
            }
        }
    }
}
