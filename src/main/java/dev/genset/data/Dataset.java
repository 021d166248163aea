package dev.genset.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

/**
 * One version of a dataset, readable any number of times. Iterating reads the file lazily and
 * closes it at the end; code that may stop early uses {@link #stream()} in a try-with-resources.
 */
public final class Dataset implements Iterable<Map<String, Object>> {
    private final DatasetInfo info;
    private final Path file;

    Dataset(DatasetInfo info, Path file) {
        this.info = info;
        this.file = file;
    }

    public DatasetInfo info() {
        return info;
    }

    public Schema schema() {
        return info.schema();
    }

    /** The stored file (read-only). */
    public Path file() {
        return file;
    }

    /** The records; close the stream (try-with-resources) to release the file. */
    public Stream<Map<String, Object>> stream() {
        try {
            String label = info.ref();
            return switch (info.format()) {
                case "jsonl" -> DatasetStore.readJsonl(file, label);
                case "csv" -> CsvColumns.read(file, info.schema(), label);
                default -> throw new IllegalStateException("unsupported dataset format " + info.format());
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The first {@code n} records. */
    public List<Map<String, Object>> head(int n) {
        try (Stream<Map<String, Object>> s = stream()) {
            return s.limit(Math.max(0, n)).toList();
        }
    }

    @Override
    public Iterator<Map<String, Object>> iterator() {
        Stream<Map<String, Object>> s = stream();
        Iterator<Map<String, Object>> it = s.iterator();
        return new Iterator<>() {
            boolean open = true;

            @Override
            public boolean hasNext() {
                if (!open) return false;
                boolean more;
                try {
                    more = it.hasNext();
                } catch (RuntimeException e) {
                    open = false;
                    s.close();
                    throw e;
                }
                if (!more) {
                    open = false;
                    s.close();
                }
                return more;
            }

            @Override
            public Map<String, Object> next() {
                if (!hasNext()) throw new NoSuchElementException();
                return it.next();
            }
        };
    }
}
