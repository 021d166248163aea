package dev.genset.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.models.GensetHome;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Captured requests (prompts and completions) for later evaluation or fine-tuning, appended as
 * JSONL under the data directory, one file per UTC day: {@code HOME/captures/YYYY-MM-DD.jsonl}.
 * Capturing is opt-in: the server appends only for keys that enable it. Thread-safe; each record
 * is one write of one line, so concurrent processes appending to the same file do not interleave.
 */
public final class CaptureLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().setSerializationInclusion(JsonInclude.Include.NON_NULL);

    /**
     * One captured exchange. {@code prompt} is the prompt text or the chat messages (a list of
     * role/content maps); {@code extra} holds anything else worth keeping (sampling parameters, ...).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Capture(Instant time, String requestId, String keyId, String model, String endpoint, Object prompt,
                          String completion, Integer promptTokens, Integer completionTokens, String finishReason,
                          Map<String, Object> extra) {
        /** The capture as the JSON object it is stored as (snake_case keys, time as ISO-8601). */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", (time != null ? time : Instant.now()).toString());
            put(m, "request_id", requestId);
            put(m, "key_id", keyId);
            put(m, "model", model);
            put(m, "endpoint", endpoint);
            put(m, "prompt", prompt);
            put(m, "completion", completion);
            put(m, "prompt_tokens", promptTokens);
            put(m, "completion_tokens", completionTokens);
            put(m, "finish_reason", finishReason);
            if (extra != null) extra.forEach(m::putIfAbsent);
            return m;
        }

        private static void put(Map<String, Object> m, String k, Object v) {
            if (v != null) m.put(k, v);
        }
    }

    private final Path dir;
    private LocalDate openDay;
    private FileChannel channel;

    private CaptureLog(Path home) {
        this.dir = home.toAbsolutePath().normalize().resolve("captures");
    }

    public static CaptureLog at(Path home) {
        return new CaptureLog(home);
    }

    public static CaptureLog atDefaultHome() {
        return new CaptureLog(GensetHome.resolve());
    }

    public Path dir() {
        return dir;
    }

    public void append(Capture capture) throws IOException {
        append(capture.toMap());
    }

    /** Appends one record; a "time" (ISO-8601, now if absent) decides the day file. */
    public void append(Map<String, ?> record) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        Object t = record.get("time");
        Instant time = t instanceof Instant i ? i : t instanceof String s ? parseInstant(s) : null;
        if (time == null) time = Instant.now();
        m.put("time", time.toString());
        record.forEach((k, v) -> {
            if (!k.equals("time")) m.put(k, v);
        });
        byte[] line = (JSON.writeValueAsString(m) + "\n").getBytes(StandardCharsets.UTF_8);
        LocalDate day = LocalDate.ofInstant(time, ZoneOffset.UTC);
        synchronized (this) {
            if (channel == null || !day.equals(openDay)) {
                if (channel != null) channel.close();
                Files.createDirectories(dir);
                channel = FileChannel.open(dir.resolve(day + ".jsonl"), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                openDay = day;
            }
            ByteBuffer bb = ByteBuffer.wrap(line);
            while (bb.hasRemaining()) channel.write(bb);
        }
    }

    private static Instant parseInstant(String s) {
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** The captured records at or after {@code since} (null: all), oldest file first. Close the stream. */
    public Stream<Map<String, Object>> read(Instant since) throws IOException {
        if (!Files.isDirectory(dir)) return Stream.empty();
        List<Path> files = new ArrayList<>();
        LocalDate firstDay = since == null ? null : LocalDate.ofInstant(since, ZoneOffset.UTC);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (!n.matches("\\d{4}-\\d{2}-\\d{2}\\.jsonl")) continue;
                if (firstDay != null && LocalDate.parse(n.substring(0, 10)).isBefore(firstDay)) continue;
                files.add(p);
            }
        }
        return files.stream().flatMap(f -> {
            try {
                return DatasetStore.readJsonl(f, f.getFileName().toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).filter(r -> {
            if (since == null) return true;
            Instant t = r.get("time") instanceof String s ? parseInstant(s) : null;
            return t != null && !t.isBefore(since);
        });
    }

    /** Writes the records at or after {@code since} to {@code out} as JSONL; returns how many. */
    public long export(Instant since, Path out) throws IOException {
        synchronized (this) {
            if (channel != null) channel.force(false);
        }
        Path abs = out.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
        long n = 0;
        try {
            try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8); Stream<Map<String, Object>> records = read(since)) {
                for (var it = records.iterator(); it.hasNext(); ) {
                    w.write(JSON.writeValueAsString(it.next()));
                    w.write('\n');
                    n++;
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return n;
    }

    @Override
    public synchronized void close() throws IOException {
        if (channel != null) channel.close();
        channel = null;
    }
}
