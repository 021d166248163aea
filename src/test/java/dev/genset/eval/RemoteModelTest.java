package dev.genset.eval;

import com.sun.net.httpserver.HttpServer;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.eval.model.GenerationRequest;
import dev.genset.eval.model.LocalModel;
import dev.genset.eval.model.LoglikelihoodRequest;
import dev.genset.eval.model.LoglikelihoodResult;
import dev.genset.eval.model.OpenAiModel;
import dev.genset.eval.model.RollingResult;
import dev.genset.server.GensetServer;
import dev.genset.server.ServerConfig;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The OpenAI-compatible client: against a running Genset server, and against canned responses. */
class RemoteModelTest {

    @Test
    void loglikelihoodThroughGensetServeEqualsTheLocalEngine() throws Exception {
        // the server's KV caches hold f32 here, as the in-process engine's do (f16, the server's default, moves logprobs by about 1e-4)
        ServerConfig config = ServerConfig.defaults(List.of(TestFiles.storiesModel())).withPort(0).withThreads(2).withParallel(2).withContextSize(256)
                .withCacheTypes(dev.genset.engine.model.KvType.F32, dev.genset.engine.model.KvType.F32);
        List<LoglikelihoodRequest> requests = List.of(
                new LoglikelihoodRequest("Once upon a time,", " there was a little girl named Lily"),
                new LoglikelihoodRequest("Once upon a time,", " the stock market fell"),
                new LoglikelihoodRequest("Lily went to the park. ", "She saw a big dog."));
        String text = "Tom was a little boy who liked to fly his red kite. Every day after lunch, he ran to the big hill near his house.";
        try (GensetServer server = GensetServer.start(config);
             LocalModel local = new LocalModel(Model.load(TestFiles.storiesModel()), new Parallel(2), 256, 64, true)) {
            server.awaitModels(Duration.ofMinutes(1));
            OpenAiModel remote = OpenAiModel.fromSpec("openai:http://127.0.0.1:" + server.port() + "/v1", null, 2);
            assertThat(remote.name()).isEqualTo("stories260K");
            List<LoglikelihoodResult> viaServer = remote.loglikelihood(requests), inProcess = local.loglikelihood(requests);
            for (int i = 0; i < requests.size(); i++) {
                assertThat(viaServer.get(i).logprob()).as("request %d", i).isCloseTo(inProcess.get(i).logprob(), within(1e-4));
                assertThat(viaServer.get(i).tokens()).isEqualTo(inProcess.get(i).tokens());
                assertThat(viaServer.get(i).greedy()).isEqualTo(inProcess.get(i).greedy());
            }
            RollingResult r = remote.loglikelihoodRolling(List.of(text), 0, 0).getFirst();
            RollingResult l = local.loglikelihoodRolling(List.of(text), 256, 256).getFirst();
            assertThat(r.tokens()).isEqualTo(l.tokens());
            assertThat(r.logprob()).isCloseTo(l.logprob(), within(1e-3));
            List<String> gen = remote.generate(List.of(new GenerationRequest("Once upon a time", List.of("."), 30)));
            assertThat(gen.getFirst()).isEqualTo(", there was a little girl named Lily");
        }
    }

    @Test
    void cannedOpenAiResponses() throws Exception {
        List<String> bodies = new CopyOnWriteArrayList<>();
        HttpServer stub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        stub.createContext("/v1/completions", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            bodies.add(body);
            String json = body.contains("\"echo\":true") ? """
                    {"id":"x","object":"text_completion","choices":[{"index":0,"text":"The cat sat.","finish_reason":"length",
                     "logprobs":{"tokens":["The"," cat"," sat","."],"token_logprobs":[null,-2.5,-1.25,-0.5],
                      "top_logprobs":[null,{" cat":-2.5},{" mat":-0.75},{".":-0.5}],"text_offset":[0,3,7,11]}}],
                     "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}
                    """ : """
                    {"id":"y","object":"text_completion","choices":[{"index":0,"text":" 42\\nQuestion: more","finish_reason":"length"}]}
                    """;
            byte[] out = json.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        stub.start();
        try {
            OpenAiModel m = new OpenAiModel("http://127.0.0.1:" + stub.getAddress().getPort() + "/v1/completions", "tiny", "sk-test", false, 1);
            // context "The cat" (7 chars): " sat" is the continuation; "." is the generated token, not counted
            LoglikelihoodResult r = m.loglikelihood(List.of(new LoglikelihoodRequest("The cat", " sat"))).getFirst();
            assertThat(r.logprob()).isEqualTo(-1.25);
            assertThat(r.tokens()).isEqualTo(1);
            assertThat(r.greedy()).isFalse(); // " mat" was more likely
            LoglikelihoodResult both = m.loglikelihood(List.of(new LoglikelihoodRequest("The", " cat sat"))).getFirst();
            assertThat(both.logprob()).isEqualTo(-3.75);
            assertThat(bodies.getFirst()).contains("\"echo\":true", "\"logprobs\":1", "\"max_tokens\":1", "\"model\":\"tiny\"", "\"prompt\":\"The cat sat\"");
            assertThat(m.generate(List.of(new GenerationRequest("Question: 6*7?\nAnswer:", List.of("Question:"), 8))).getFirst()).isEqualTo(" 42\n");
            assertThat(bodies.getLast()).contains("\"stop\":[\"Question:\"]", "\"temperature\":0");
        } finally {
            stub.stop(0);
        }
    }
}
