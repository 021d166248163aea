package dev.genset.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One stored version of a dataset, as its {@code dataset.json} records it.
 *
 * @param format  "jsonl" or "csv"
 * @param sha256  of the stored file, 64 hex digits
 * @param size    bytes of the stored file
 * @param rows    records (JSONL lines, CSV rows after the header)
 * @param source  the file it was added from
 * @param created ISO-8601 instant
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DatasetInfo(String name, int version, String format, String sha256, long size, long rows,
                          Schema schema, String source, String created) {
    /** "name@version". */
    @JsonIgnore
    public String ref() {
        return name + "@" + version;
    }

    /** The stored file's name inside the version folder. */
    @JsonIgnore
    public String fileName() {
        return "data." + format;
    }
}
