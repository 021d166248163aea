/**
 * The model store and the loading of models for serving.
 *
 * <h2>Store</h2>
 * {@link dev.genset.models.ModelStore} keeps models under the data directory
 * ({@link dev.genset.models.GensetHome}: {@code --home}, else {@code $GENSET_HOME}, else
 * {@code ~/.genset}), content-addressed:
 * <pre>
 * models/blobs/sha256-&lt;hex&gt;            model files, named by their SHA-256
 * models/manifests/&lt;name&gt;/&lt;tag&gt;.json  one small JSON {@link dev.genset.models.Manifest} per name:tag
 * models/partial/                      interrupted downloads, resumed by the next pull of the same URL
 * </pre>
 * Names are {@code name[:tag]} ({@link dev.genset.models.ModelRef}, tag {@code latest} by default).
 * A file enters the store only by an atomic rename once it is complete, its SHA-256 checked
 * (against {@code --sha256}, or what the server states: Hugging Face's X-Linked-Etag / ETag) and
 * it parses as GGUF, so a failed pull or import leaves nothing in the store.
 *
 * <h2>For the server and {@code --model NAME}</h2>
 * <ul>
 * <li>{@code ModelStore.atDefaultHome().resolve(nameOrPath)} (or {@link dev.genset.models.ModelStore#resolveDefault})
 *     gives the file to load: {@code nameOrPath} itself if it is an existing file, else the blob of
 *     that store name; an unknown name throws {@link dev.genset.models.ModelNotFoundException} with
 *     a one-line message.</li>
 * <li>{@link dev.genset.models.ModelManager} loads models on their first request and unloads them
 *     after an idle keep-alive (default 5 minutes; per request {@link dev.genset.models.KeepAlive#parse}
 *     of Ollama's {@code keep_alive}: "5m", "0", "-1"), evicting the least recently used idle model
 *     when a memory budget is exceeded. Requests hold a lease while they run:
 * <pre>
 * ModelManager&lt;Model&gt; models = ModelManager.builder(ModelStore.atDefaultHome()::resolve, (name, path) -&gt; Model.load(path))
 *         .keepAlive(KeepAlive.parse("5m")).memoryBudget(budgetBytes).build();
 * try (var lease = models.acquire(requestModel, KeepAlive.parse(requestKeepAlive))) {
 *     ... lease.model() ...
 * }
 * models.loaded();   // what is in memory, for a /api/ps-like listing
 * models.unload(n);  // keep_alive 0 without a prompt
 * </pre></li>
 * </ul>
 */
package dev.genset.models;
