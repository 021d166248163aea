package dev.genset.gateway;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** A real redis-server for a test, on a free loopback port, without persistence. */
final class RedisServer implements AutoCloseable {
    private final Process process;
    private final int port;

    private RedisServer(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** The redis-server executable, or null if it is not installed. */
    static String executable() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/usr/local/bin").split(File.pathSeparator)) {
            File f = new File(dir, "redis-server");
            if (f.canExecute()) return f.getPath();
        }
        return null;
    }

    static RedisServer start() throws IOException, InterruptedException {
        String exe = executable();
        if (exe == null) throw new IllegalStateException("redis-server is not installed");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder(exe, "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return new RedisServer(p, port);
            } catch (IOException notYet) {
                if (!p.isAlive()) throw new IllegalStateException("redis-server exited with " + p.exitValue());
                Thread.sleep(50);
            }
        }
        p.destroyForcibly();
        throw new IllegalStateException("redis-server did not start");
    }

    String url() {
        return "redis://127.0.0.1:" + port;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
    }
}
