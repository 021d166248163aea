package dev.genset.gateway;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * An open-loop HTTP load generator for the gateway benchmark in BENCHMARKS.md: sends POST
 * requests at a fixed rate over keep-alive connections and reports latency percentiles measured
 * from each request's scheduled send time (so a stall counts against every request it delays,
 * as wrk2 measures), and how the slow ones (over 8 ms) bunch into episodes (slow requests
 * scheduled within 60 ms of each other): many small episodes point at the server, a few large
 * ones at pauses of a whole process or machine. JDK only; run it as a single source file:
 *
 * <pre>
 * java src/test/java/dev/genset/gateway/FixedRateClient.java URL RATE SECONDS [WARMUP_SECONDS] [CONNECTIONS] [BEARER_KEY] [BODY]
 * </pre>
 */
public final class FixedRateClient {
    private static final String DEFAULT_BODY = "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}],\"max_tokens\":16}";

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: FixedRateClient URL RATE SECONDS [WARMUP_SECONDS] [CONNECTIONS] [BEARER_KEY] [BODY]");
            System.exit(2);
        }
        URI url = URI.create(args[0]);
        double rate = Double.parseDouble(args[1]);
        double seconds = Double.parseDouble(args[2]);
        double warmup = args.length > 3 ? Double.parseDouble(args[3]) : 5;
        int connections = args.length > 4 ? Integer.parseInt(args[4]) : 16;
        String key = args.length > 5 && !args[5].isEmpty() && !args[5].equals("-") ? args[5] : null;
        String body = args.length > 6 ? args[6] : DEFAULT_BODY;
        byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
        String path = url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
        String head = "POST " + path + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort() + "\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + bodyBytes.length + "\r\n"
                + (key == null ? "" : "Authorization: Bearer " + key + "\r\n") + "\r\n";
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        req.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
        req.writeBytes(bodyBytes);
        byte[] request = req.toByteArray();

        long intervalNanos = (long) (1e9 / rate);
        long total = (long) ((warmup + seconds) * rate);
        long measureFrom = (long) (warmup * rate);
        BlockingQueue<long[]> queue = new ArrayBlockingQueue<>(1 << 20);
        long[] latencies = new long[(int) (total - measureFrom) + 1], scheduled = new long[latencies.length];
        AtomicLong recorded = new AtomicLong();
        AtomicLong errors = new AtomicLong(), non2xx = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            Thread t = Thread.ofPlatform().name("load-" + i).daemon(true).start(() -> {
                Connection c = null;
                while (true) {
                    long[] job;
                    try {
                        job = queue.take();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (job[0] < 0) return;
                    try {
                        if (c == null) c = new Connection(url.getHost(), url.getPort());
                        int status = c.exchange(request);
                        if (status < 200 || status >= 300) non2xx.incrementAndGet();
                    } catch (IOException e) {
                        errors.incrementAndGet();
                        if (c != null) c.close();
                        c = null;
                    }
                    long done = System.nanoTime();
                    if (job[1] >= measureFrom) {
                        int slot = (int) recorded.getAndIncrement();
                        latencies[slot] = done - job[0];
                        scheduled[slot] = job[0];
                    }
                }
            });
            workers.add(t);
        }
        long start = System.nanoTime() + 50_000_000L;
        long measureStart = start + measureFrom * intervalNanos;
        for (long i = 0; i < total; i++) {
            long due = start + i * intervalNanos;
            for (long now; (now = System.nanoTime()) < due; ) LockSupport.parkNanos(Math.min(due - now, 200_000));
            queue.put(new long[] {due, i});
        }
        long sentEnd = System.nanoTime();
        for (int i = 0; i < connections; i++) queue.put(new long[] {-1, -1});
        for (Thread t : workers) t.join(TimeUnit.SECONDS.toMillis(60));
        long end = System.nanoTime();
        int n = (int) recorded.get();
        System.out.println(episodes(Arrays.copyOf(scheduled, n), Arrays.copyOf(latencies, n)));
        long[] l = Arrays.copyOf(latencies, n);
        Arrays.sort(l);
        double achieved = n / ((Math.max(sentEnd, end) - measureStart) / 1e9);
        System.out.printf(Locale.ROOT, "target %.0f req/s, measured %d requests in %.1f s (%.0f req/s), %d errors, %d non-2xx%n",
                rate, n, seconds, achieved, errors.get(), non2xx.get());
        System.out.printf(Locale.ROOT, "latency from scheduled send: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms%n",
                pct(l, 50), pct(l, 90), pct(l, 99), pct(l, 99.9), n == 0 ? 0 : l[n - 1] / 1e6);
    }

    /** The slow requests (over 8 ms) grouped into episodes: runs of them scheduled less than 60 ms apart. */
    static String episodes(long[] scheduled, long[] latencies) {
        List<long[]> slow = new ArrayList<>(); // {scheduled, latency}
        for (int i = 0; i < scheduled.length; i++) if (latencies[i] > 8_000_000L) slow.add(new long[] {scheduled[i], latencies[i]});
        slow.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> eps = new ArrayList<>(); // {last scheduled, requests, worst latency}
        for (long[] r : slow) {
            long[] e = eps.isEmpty() ? null : eps.getLast();
            if (e != null && r[0] - e[0] < 60_000_000L) {
                e[0] = r[0];
                e[1]++;
                e[2] = Math.max(e[2], r[1]);
            } else {
                eps.add(new long[] {r[0], 1, r[1]});
            }
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "slow (over 8 ms): %d requests in %d episodes", slow.size(), eps.size()));
        eps.sort((a, b) -> Long.compare(b[1], a[1]));
        for (int i = 0; i < Math.min(3, eps.size()); i++)
            sb.append(String.format(Locale.ROOT, i == 0 ? "; largest: %d requests (worst %.1f ms)" : ", %d (%.1f ms)", eps.get(i)[1], eps.get(i)[2] / 1e6));
        return sb.toString();
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) return 0;
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    /** One keep-alive HTTP/1.1 connection: writes a request, reads one response (Content-Length or chunked). */
    private static final class Connection {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;

        Connection(String host, int port) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(30_000);
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 65536);
        }

        int exchange(byte[] request) throws IOException {
            out.write(request);
            out.flush();
            String status = line();
            if (status == null || !status.startsWith("HTTP/1.")) throw new IOException("bad status line " + status);
            int code = Integer.parseInt(status.substring(9, 12));
            long length = -1;
            boolean chunked = false, close = false;
            for (String h; !(h = line()).isEmpty(); ) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) length = Long.parseLong(lower.substring(15).trim());
                else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
                else if (lower.startsWith("connection:") && lower.contains("close")) close = true;
            }
            if (chunked) {
                for (long size; (size = Long.parseLong(line().split(";")[0].trim(), 16)) > 0; ) {
                    skip(size);
                    line();
                }
                while (!line().isEmpty()) { /* trailers */ }
            } else if (length >= 0) {
                skip(length);
            } else {
                throw new IOException("response without a length");
            }
            if (close) throw new IOException("server closed the connection");
            return code;
        }

        private void skip(long n) throws IOException {
            while (n > 0) {
                long k = in.skip(n);
                if (k <= 0) {
                    if (in.read() < 0) throw new IOException("eof in body");
                    k = 1;
                }
                n -= k;
            }
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) throw new IOException("eof");
                if (c != '\r') sb.append((char) c);
            }
            return sb.toString();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // gone
            }
        }
    }
}
