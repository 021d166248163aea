/**
 * Datasets and captured requests under the data directory.
 *
 * <ul>
 * <li>{@link dev.genset.data.DatasetStore}: JSONL and CSV files stored unchanged as numbered
 *     versions ({@code name@1}, {@code name@2}, ...) with their SHA-256, row count and inferred
 *     {@link dev.genset.data.Schema} (string, int, float, bool, null, object, array). Evaluation reads
 *     one by name: {@code DatasetStore.atDefaultHome().open("qa@2")} is an
 *     {@code Iterable<Map<String, Object>>}. Parquet is not supported: no small, well-kept pure-Java
 *     reader exists (the reference implementation pulls in Hadoop); convert to JSONL.</li>
 * <li>{@link dev.genset.data.CaptureLog}: the server appends prompts and completions (opt-in per
 *     key) with {@code append(Capture)} or {@code append(Map)}, one JSONL file per UTC day under
 *     {@code captures/}; {@code export(since, file)} (and {@code genset data export-logs}) writes
 *     them out as a JSONL dataset.</li>
 * </ul>
 */
package dev.genset.data;
