package dev.genset.gateway.route;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** A whole upstream response passes with only its model name replaced, byte for byte otherwise. */
class UpstreamClientScanTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static UpstreamClient.Scanned scan(String body, String model) throws Exception {
        return UpstreamClient.scan(body.getBytes(StandardCharsets.UTF_8), model);
    }

    @Test
    void replacesTheTopLevelModelOnlyAndKeepsEverythingElseAsWritten() throws Exception {
        String body = "{ \"id\" : \"ü-1\\\"x\", \"choices\":[{\"index\":0,\"model\":\"inner\",\"message\":{\"role\":\"assistant\",\"content\":\"héllo \\\"model\\\": \\u00e9\"}}],\n"
                + "  \"model\" : \"upstream-\\\"name\\\"\", \"usage\":{\"prompt_tokens\":11,\"completion_tokens\":4,\"total_tokens\":15,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":3}}, \"system_fingerprint\":null}";
        UpstreamClient.Scanned s = scan(body, "public \"m\" é");
        assertThat(s).isNotNull();
        String out = new String(s.body(), StandardCharsets.UTF_8);
        assertThat(out).isEqualTo(body.replace("\"upstream-\\\"name\\\"\"", "\"public \\\"m\\\" é\""));
        JsonNode n = JSON.readTree(s.body());
        assertThat(n.get("model").asText()).isEqualTo("public \"m\" é");
        assertThat(n.at("/choices/0/model").asText()).isEqualTo("inner");
        assertThat(s.usage().promptTokens()).isEqualTo(11);
        assertThat(s.usage().completionTokens()).isEqualTo(4);
        assertThat(s.usage().cachedTokens()).isEqualTo(3);
    }

    @Test
    void leavesOtherShapesToTheTreePath() throws Exception {
        assertThat(scan("{\"model\":\"m\",\"choices\":[]}", "p")).isNull(); // no usage: counted from the text
        assertThat(scan("{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1},\"choices\":[]}", "p")).isNull(); // no model to replace
        assertThat(scan("[1,2]", "p")).isNull();
        assertThat(scan("{\"model\":7,\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}", "p")).isNull();
        assertThat(scan("{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}} trailing", "p")).isNull();
    }
}
