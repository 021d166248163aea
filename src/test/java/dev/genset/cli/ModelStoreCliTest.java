package dev.genset.cli;

import dev.genset.testing.Cli;
import com.sun.net.httpserver.HttpServer;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** genset pull, list, show, cp, rm, import and data through the command line, in a temporary --home. */
class ModelStoreCliTest {
    static final String SHA = "047bf46455a544931cff6fef14d7910154c56afbc23ab1c5e56a72e69912c04b";

    @TempDir Path home;

    Cli.Result genset(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--home";
        all[args.length + 1] = home.toString();
        return Cli.run(all);
    }

    @Test
    void pullListShowCopyRemove() throws Exception {
        byte[] model = Files.readAllBytes(TestFiles.storiesModel());
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/m/", ex -> {
            try (ex) {
                if (!ex.getRequestURI().getPath().equals("/m/stories260K.gguf")) {
                    ex.sendResponseHeaders(404, -1);
                    return;
                }
                ex.getResponseHeaders().add("ETag", "\"" + SHA + "\"");
                ex.sendResponseHeaders(200, model.length);
                ex.getResponseBody().write(model);
            }
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/m/";
            var pull = genset("pull", base + "stories260K.gguf", "--name", "stories");
            assertThat(pull.exitCode()).as(pull.err()).isZero();
            assertThat(pull.out()).isEqualTo("pulled stories:latest (sha256:047bf46455a5, 1.2 MB)\n");
            assertThat(pull.err()).contains("pulling stories:latest");

            var missing = genset("pull", base + "missing.gguf", "-q");
            assertThat(missing.exitCode()).isEqualTo(1);
            assertThat(missing.err()).isEqualTo("genset: not found (HTTP 404): " + base + "missing.gguf\n");
        } finally {
            server.stop(0);
        }

        var cp = genset("cp", "stories", "tiny:v1");
        assertThat(cp.out()).isEqualTo("copied stories:latest to tiny:v1\n");

        var list = genset("list");
        assertThat(list.exitCode()).isZero();
        assertThat(list.out().lines().toList()).hasSize(3);
        assertThat(list.out()).contains("NAME").contains("stories:latest").contains("tiny:v1").contains(SHA.substring(0, 12))
                .contains("1.2 MB").contains("llama").contains("292.80K").contains("F32");

        var show = genset("show", "tiny:v1");
        assertThat(show.exitCode()).as(show.err()).isZero();
        assertThat(show.out()).contains("architecture       llama").contains("parameters         292.80K (292,800)")
                .contains("quantization       F32").contains("context length     128").contains("chat template      no")
                .contains("digest             sha256:" + SHA).contains("size               1.2 MB (1,185,376 bytes)");
        assertThat(genset("show", "stories", "--json").out()).contains("\"digest\" : \"sha256:" + SHA + "\"");

        var rm = genset("rm", "stories", "tiny:v1");
        assertThat(rm.out()).isEqualTo("deleted stories:latest\ndeleted tiny:v1\n");
        assertThat(genset("list").out()).startsWith("no models");
        var gone = genset("show", "stories");
        assertThat(gone.exitCode()).isEqualTo(1);
        assertThat(gone.err()).startsWith("genset: model 'stories' not found");
    }

    @Test
    void importGgufAndLlama2c() throws Exception {
        var imp = genset("import", TestFiles.storiesModel().toString(), "--name", "local");
        assertThat(imp.exitCode()).as(imp.err()).isZero();
        assertThat(imp.out()).startsWith("imported local:latest (sha256:047bf46455");

        Path notModel = home.resolve("notes.txt");
        Files.writeString(notModel, "hello");
        var bad = genset("import", notModel.toString());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("neither GGUF nor a llama2.c checkpoint");

        var missing = genset("import", home.resolve("nope.gguf").toString());
        assertThat(missing.err()).startsWith("genset: file not found: ");
    }

    @Test
    void datasetCommands() throws Exception {
        Path v1 = home.resolve("qa.jsonl");
        Files.writeString(v1, "{\"q\": \"a\", \"n\": 1}\n{\"q\": \"b\", \"n\": 2}\n{\"q\": \"c\", \"n\": null}\n");
        var add = genset("data", "add", "qa", v1.toString());
        assertThat(add.exitCode()).as(add.err()).isZero();
        assertThat(add.out()).startsWith("added qa@1: 3 rows, 2 fields");
        assertThat(genset("data", "add", "qa", v1.toString()).out()).startsWith("unchanged: qa@1");
        Path v2 = home.resolve("qa.csv");
        Files.writeString(v2, "q,n\nd,4\n");
        assertThat(genset("data", "add", "qa", v2.toString()).out()).startsWith("added qa@2: 1 rows");

        var list = genset("data", "list");
        assertThat(list.out()).contains("qa@1").contains("qa@2").contains("jsonl").contains("csv");
        var show = genset("data", "show", "qa@1");
        assertThat(show.out()).contains("rows       3").contains("versions   1, 2").containsPattern("n\\s+int\\?");
        var head = genset("data", "head", "qa@1", "-n", "2");
        assertThat(head.out()).isEqualTo("{\"q\":\"a\",\"n\":1}\n{\"q\":\"b\",\"n\":2}\n");
        assertThat(genset("data", "head", "qa").out()).isEqualTo("{\"q\":\"d\",\"n\":4}\n");

        assertThat(genset("data", "rm", "qa@1").out()).isEqualTo("deleted qa@1\n");
        assertThat(genset("data", "rm", "qa").out()).isEqualTo("deleted qa@2\n");
        var gone = genset("data", "show", "qa");
        assertThat(gone.exitCode()).isEqualTo(1);
        assertThat(gone.err()).isEqualTo("genset: dataset 'qa' not found (genset data list shows the datasets)\n");

        try (var log = dev.genset.data.CaptureLog.at(home)) {
            log.append(java.util.Map.of("prompt", "p1", "completion", "c1"));
        }
        Path out = home.resolve("logs.jsonl");
        var export = genset("data", "export-logs", "--since", "1h", "-o", out.toString(), "--add", "logs");
        assertThat(export.exitCode()).as(export.err()).isZero();
        assertThat(export.out()).isEqualTo("exported 1 records to " + out + "\nadded logs@1\n");
        assertThat(Files.readString(out)).contains("\"prompt\":\"p1\"");
    }
}
