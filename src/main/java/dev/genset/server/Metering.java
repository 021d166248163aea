package dev.genset.server;

import dev.genset.engine.batch.SequenceEvent;
import dev.genset.engine.generate.FinishReason;
import dev.genset.gateway.Admission;
import dev.genset.gateway.ApiKeys;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayException;
import dev.genset.gateway.Usage;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.Keys;
import io.helidon.webserver.http.ServerResponse;

import java.util.Map;

/**
 * One request's passage through the gateway: its key checked before the body is read, admitted
 * once its prompt is tokenized ({@link #admit}), and settled exactly once when the request ends
 * with the tokens its sequences actually used ({@link #settle}), whether it succeeded, failed or
 * its client went away. Without a gateway every call is a no-op and everything is allowed.
 */
final class Metering {
    private final Gateway gateway;
    private final Keys keys;
    private final String key;
    private final ServerResponse res;
    private Admission admission;
    private Job job;
    private int perPrompt = 1;
    private Usage explicit;
    private String deployment; // the local deployment a routed request was served by
    private boolean clientGone;
    private boolean incomplete;
    private boolean settled;
    private dev.genset.data.CaptureLog captureLog;
    private String endpoint;
    private byte[] body;

    Metering(Gateway gateway, Keys keys, String authorization, ServerResponse res) {
        this.gateway = gateway;
        this.keys = keys;
        this.key = ApiKeys.bearer(authorization);
        this.res = res;
    }

    /**
     * Refuses a request that can never be admitted before any work is done for it: no key while
     * keys are required, an unknown, revoked or expired key. (Limits and models are checked at admission.)
     */
    void authenticate() {
        if (gateway == null) return;
        if (key == null) {
            if (gateway.keysRequired() || !openAccess) throw map(new GatewayException(401, "invalid_request_error", "missing_api_key",
                    "You didn't provide an API key. Send it in the Authorization header: Authorization: Bearer YOUR_KEY."));
            return;
        }
        try {
            caller = gateway.authenticate(key);
        } catch (GatewayException e) {
            throw map(e);
        }
    }

    private Keys.Resolved caller; // the key authenticate() accepted, admitted without looking it up again

    /** Whether the authenticated key (and its team) may use the model; true without a key. */
    boolean allowsModel(String model) {
        return caller == null || (caller.key().limits().allowsModel(model) && (caller.team() == null || caller.team().limits().allowsModel(model)));
    }

    private boolean openAccess = true;

    /**
     * The scope within which this request's prompt may reuse computed prompts and be reused: the
     * caller's team, else its key (one tenant's prompts are not to be found, nor timed, through
     * another's cached tokens), narrowed by a {@code cache_salt} if the request gives one; null
     * (the one shared scope) for requests without a key and without a salt.
     */
    String cacheScope(String salt) {
        String tenant = caller == null ? null : caller.team() != null ? "team " + caller.team().id() : "key " + caller.key().id();
        if (salt == null) return tenant;
        return (tenant == null ? "" : tenant + " ") + "salt " + salt;
    }

    /**
     * Model management (pull, delete): the admin key, or anyone while the server is open (no keys
     * exist and it serves on loopback or was started open), or anyone without a gateway.
     */
    void authorizeAdmin() {
        if (gateway == null) return;
        String admin = gateway.config().adminKey();
        if (key != null && admin != null && ApiKeys.constantTimeEquals(key, admin)) return;
        if (!gateway.keysRequired() && openAccess) return;
        throw new ApiException(key == null ? 401 : 403, key == null ? "invalid_request_error" : "permission_error",
                "Managing models needs the admin key (Authorization: Bearer ADMIN_KEY).", null, key == null ? "missing_api_key" : "admin_key_required");
    }

    /** Where to save the request if its key has capture on, and under which endpoint name. */
    Metering capture(dev.genset.data.CaptureLog log, String endpoint) {
        this.captureLog = log;
        this.endpoint = endpoint;
        return this;
    }

    /** The request's body, kept only for capture. */
    void requestBody(byte[] body) {
        this.body = body;
    }

    Metering openAccess(boolean open) {
        this.openAccess = open;
        return this;
    }

    /** Admits the request (prompt tokenized, its most completion tokens known) or throws the refusal as an API error. */
    void admit(String model, long promptTokens, long maxCompletionTokens) {
        if (gateway == null || admission != null) return;
        try {
            admission = caller != null ? gateway.admitAuthenticated(caller, model, (int) Math.min(Integer.MAX_VALUE, promptTokens),
                    (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxCompletionTokens)))
                    : gateway.admit(key, model, (int) Math.min(Integer.MAX_VALUE, promptTokens),
                    (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxCompletionTokens)));
        } catch (GatewayException e) {
            throw map(e);
        }
        res.header("x-request-id", admission.requestId());
        for (Map.Entry<String, String> h : admission.headers().entrySet()) res.header(h.getKey(), h.getValue());
    }

    Admission admission() {
        return admission;
    }

    /** The request's sequences, whose ends give the usage at settlement ({@code perPrompt} choices share one prompt). */
    void job(Job job, int perPrompt) {
        this.job = job;
        this.perPrompt = Math.max(1, perPrompt);
    }

    /**
     * A routed attempt at a local deployment that failed before its response began: its job is no
     * part of this request's usage (another deployment answers, or the request fails as a whole).
     */
    void dropJob() {
        job = null;
        perPrompt = 1;
    }

    /** Usage known otherwise (a routed request served upstream, or embeddings, which run no job). */
    void usage(Usage u) {
        this.explicit = u;
    }

    /** The local deployment that served a routed request: its job's usage is booked under that name. */
    void servedBy(String deployment) {
        this.deployment = deployment;
    }

    /** The client closed the connection during the response. */
    void clientGone() {
        clientGone = true;
    }

    /** The response went out only in part (an upstream stream that broke or stalled): booked as an error. */
    void incomplete() {
        incomplete = true;
    }

    /** Books the usage and releases the reservation; once, whatever happened. */
    void settle(int status) {
        if (settled) return;
        settled = true;
        if (gateway == null || admission == null) return;
        Usage u = explicit;
        if (u != null && deployment != null && u.deployment() == null) u = u.withDeployment(u.provider(), deployment); // a local deployment's own count
        if (u == null && job != null) {
            job.cancelAndDrain(); // nothing left running when it is booked; no-op if every sequence ended
            u = job.usage(perPrompt);
            if (deployment != null) u = u.withDeployment(u.provider(), deployment);
        }
        String outcome = clientGone ? "cancelled" : !incomplete && status >= 200 && status < 300 ? "ok" : "error";
        gateway.settle(admission, u == null ? Usage.NONE : u, outcome);
        if (captureLog != null && admission.key() != null && admission.key().capture() && (job != null || routed != null)) capture(outcome, u);
    }

    private dev.genset.gateway.route.Outcome routed; // the upstream's answer to a routed request, for capture

    /** The upstream's answer to this request (routed to a provider, not served here). */
    void routed(dev.genset.gateway.route.Outcome o) {
        this.routed = o;
    }

    /**
     * Saves the request and each sequence it produced: the local sequences, or each choice of a
     * routed request's answer (as streamed, or from the whole response; tokens from the booked
     * usage, all choices together). A failure to write is logged, never the client's problem.
     */
    private void capture(String outcome, Usage u) {
        boolean ok = "ok".equals(outcome);
        try {
            Object prompt = body == null || body.length == 0 ? null : Json.MAPPER.readValue(body, Object.class);
            if (job != null) {
                for (SequenceEvent.Done d : job.ends())
                    if (d != null) save(prompt, d.text(), d.promptTokens(), d.completionTokens(), ok ? d.reason().apiName() : outcome);
                return;
            }
            Integer promptTokens = u == null ? null : (int) u.promptTokens(), completionTokens = u == null ? null : (int) u.completionTokens();
            if (routed.streamedText() != null) {
                for (String text : routed.streamedText()) save(prompt, text, promptTokens, completionTokens, outcome);
            } else if (routed.body() != null) {
                for (com.fasterxml.jackson.databind.JsonNode c : Json.MAPPER.readTree(routed.body()).path("choices")) {
                    String reason = c.path("finish_reason").asText(null);
                    save(prompt, c.path("message").path("content").asText("") + c.path("text").asText(""), promptTokens, completionTokens,
                            ok && reason != null ? reason : outcome);
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            System.getLogger(Metering.class.getName()).log(System.Logger.Level.WARNING, "request capture failed: " + e.getMessage());
        }
    }

    private void save(Object prompt, String text, Integer promptTokens, Integer completionTokens, String reason) throws java.io.IOException {
        captureLog.append(new dev.genset.data.CaptureLog.Capture(java.time.Instant.now(), admission.requestId(), admission.key().id(),
                admission.model(), endpoint, prompt, text, promptTokens, completionTokens, reason, null));
    }

    static ApiException map(GatewayException e) {
        ApiException a = new ApiException(e.status(), e.type(), e.getMessage(), null, e.code());
        if (e.retryAfter() != null) a.retryAfter(e.retryAfter());
        java.util.LinkedHashMap<String, String> h = new java.util.LinkedHashMap<>(e.headers());
        h.remove("Retry-After");
        return a.headers(h);
    }

    /** Prompt tokens a sequence's end counts: none for one cancelled before it started. */
    static int promptTokens(SequenceEvent.Done d) {
        boolean started = d.reason() != FinishReason.CANCELLED || d.completionTokens() > 0 || d.promptNanos() > 0;
        return started ? d.promptTokens() : 0;
    }
}
