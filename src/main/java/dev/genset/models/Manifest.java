package dev.genset.models;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A name's entry in the store, kept as a small JSON file: which blob it names (by SHA-256), where
 * the blob came from, and the model's details read when it was added.
 *
 * @param digest  "sha256:" followed by 64 hex digits; the blob is {@code blobs/sha256-<hex>}
 * @param source  the URL or file the model came from
 * @param created when the name was given (ISO-8601 instant)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(int schemaVersion, String name, String tag, String digest, long size, String format,
                       String source, String created, ModelDetails details) {
    public static final int SCHEMA_VERSION = 1;

    @JsonIgnore
    public ModelRef ref() {
        return new ModelRef(name, tag);
    }

    /** The 64 hex digits of the digest. */
    @JsonIgnore
    public String sha256() {
        return digest.substring(digest.indexOf(':') + 1);
    }

    Manifest withRef(ModelRef ref) {
        return new Manifest(schemaVersion, ref.name(), ref.tag(), digest, size, format, source, java.time.Instant.now().toString(), details);
    }
}
