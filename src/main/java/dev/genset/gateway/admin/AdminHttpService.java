package dev.genset.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.ApiKeys;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.BudgetPeriod;
import dev.genset.store.Limits;
import dev.genset.store.Money;
import dev.genset.store.Price;
import dev.genset.store.StoreException;
import dev.genset.store.Team;
import dev.genset.store.UsageReports;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The admin API as a Helidon SE service, to mount under {@code /admin}:
 *
 * <pre>
 * POST   /keys                  {"name", "team", "models", "rpm", "tpm", "budget", "token_quota", "period", "expires"} → the key, shown once
 * GET    /keys[?team=T]         GET /keys/{ref}        PATCH /keys/{ref} (limits, expires, "capture": true|false)
 * DELETE /keys/{ref}            (revokes; POST /keys/{ref}/revoke too)
 * POST   /teams                 {"name", limits...}    GET /teams    GET /teams/{ref}    PATCH /teams/{ref} (limits, "disabled")
 * GET    /usage?key=&amp;team=&amp;model=&amp;since=&amp;until=&amp;by=model|key|team|day|deployment
 * PUT    /prices/{model}        {"input", "output", "cached_input", "deployment", "min_prompt_tokens"}    GET /prices
 * DELETE /prices/{model}[?deployment=D&amp;min_prompt_tokens=N]
 * </pre>
 *
 * Every call needs {@code Authorization: Bearer ADMIN_KEY}, compared in constant time; without an
 * admin key configured the API refuses every call. Amounts are dollar strings ("10.00") in limits and
 * prices, and exact JSON numbers in usage totals.
 */
public final class AdminHttpService implements HttpService {
    private static final ObjectMapper JSON = new ObjectMapper().enable(com.fasterxml.jackson.core.JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);

    private final AdminService admin;
    private final String adminKey;

    public AdminHttpService(AdminService admin, String adminKey) {
        this.admin = admin;
        this.adminKey = adminKey == null || adminKey.isBlank() ? null : adminKey;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.any(this::authorize)
                .post("/keys", wrap(this::createKey))
                .get("/keys", wrap(this::listKeys))
                .get("/keys/{ref}", wrap(this::getKey))
                .patch("/keys/{ref}", wrap(this::updateKey))
                .delete("/keys/{ref}", wrap(this::revokeKey))
                .post("/keys/{ref}/revoke", wrap(this::revokeKey))
                .post("/teams", wrap(this::createTeam))
                .get("/teams", wrap(this::listTeams))
                .get("/teams/{ref}", wrap(this::getTeam))
                .patch("/teams/{ref}", wrap(this::updateTeam))
                .get("/usage", wrap(this::usage))
                .put("/prices/{model}", wrap(this::setPrice))
                .get("/prices", wrap(this::listPrices))
                .delete("/prices/{model}", wrap(this::deletePrice))
                .any((req, res) -> error(res, 404, "not_found_error", "unknown_url",
                        "Unknown admin URL: " + req.prologue().method().text() + " " + req.path().path() + "."));
    }

    private void authorize(ServerRequest req, ServerResponse res) {
        if (adminKey == null) {
            error(res, 403, "permission_error", "admin_disabled", "The admin API is disabled: no admin key is configured (GENSET_ADMIN_KEY).");
            return;
        }
        String presented = ApiKeys.bearer(req.headers().first(io.helidon.http.HeaderNames.AUTHORIZATION).orElse(null));
        if (!ApiKeys.constantTimeEquals(presented == null ? "" : presented, adminKey)) {
            res.header("WWW-Authenticate", "Bearer");
            error(res, 401, "invalid_request_error", "invalid_admin_key", "A valid admin key is required: Authorization: Bearer ADMIN_KEY.");
            return;
        }
        res.next();
    }

    @FunctionalInterface
    private interface Op {
        Object handle(ServerRequest req, ServerResponse res) throws Exception;
    }

    private Handler wrap(Op op) {
        return (req, res) -> {
            try {
                Object out = op.handle(req, res);
                if (out != null) send(res, res.status() == null ? 200 : res.status().code(), out);
            } catch (IllegalArgumentException e) {
                int status = e.getMessage() != null && e.getMessage().startsWith("no ") ? 404 : 400;
                error(res, status, status == 404 ? "not_found_error" : "invalid_request_error", null, e.getMessage());
            } catch (StoreException e) {
                error(res, 503, "server_error", "store_unavailable", "The store failed: " + e.getMessage());
            } catch (IOException e) {
                error(res, 400, "invalid_request_error", "invalid_json", "The body is not valid JSON: " + e.getMessage());
            }
        };
    }

    // --- keys ---

    private Object createKey(ServerRequest req, ServerResponse res) throws IOException {
        JsonNode b = body(req);
        String name = text(b, "name");
        if (name == null) throw new IllegalArgumentException("a key needs a name");
        AdminService.CreatedKey k = admin.createKey(new AdminService.KeySpec(name, text(b, "team"), limits(b, Limits.NONE),
                AdminService.parseExpiry(text(b, "expires"))));
        ObjectNode n = key(k.record());
        n.put("key", k.key());
        res.status(Status.CREATED_201);
        return n;
    }

    private Object listKeys(ServerRequest req, ServerResponse res) {
        ArrayNode a = JSON.createArrayNode();
        for (ApiKeyRecord k : admin.listKeys(query(req, "team"))) a.add(key(k));
        return list(a);
    }

    private Object getKey(ServerRequest req, ServerResponse res) {
        ApiKeyRecord k = admin.key(req.path().pathParameters().get("ref"));
        ObjectNode n = key(k);
        n.set("spend", spend(admin.keySpend(k)));
        return n;
    }

    private Object updateKey(ServerRequest req, ServerResponse res) throws IOException {
        ApiKeyRecord k = admin.key(req.path().pathParameters().get("ref"));
        JsonNode b = body(req);
        JsonNode capture = b.get("capture");
        if (capture != null && !capture.isBoolean())
            throw new IllegalArgumentException("capture must be true or false (saves the key's prompts and completions for export)");
        Long expires = b.has("expires") ? AdminService.parseExpiry(text(b, "expires")) : k.expiresAt();
        if (capture == null || b.size() > 1) k = admin.updateKey(k.id(), limits(b, k.limits()), expires);
        if (capture != null) k = admin.setKeyCapture(k.id(), capture.booleanValue());
        return key(k);
    }

    private Object revokeKey(ServerRequest req, ServerResponse res) {
        return key(admin.revokeKey(req.path().pathParameters().get("ref")));
    }

    // --- teams ---

    private Object createTeam(ServerRequest req, ServerResponse res) throws IOException {
        JsonNode b = body(req);
        Team t = admin.createTeam(text(b, "name"), limits(b, Limits.NONE));
        res.status(Status.CREATED_201);
        return team(t);
    }

    private Object listTeams(ServerRequest req, ServerResponse res) {
        ArrayNode a = JSON.createArrayNode();
        for (Team t : admin.listTeams()) a.add(team(t));
        return list(a);
    }

    private Object getTeam(ServerRequest req, ServerResponse res) {
        Team t = admin.team(req.path().pathParameters().get("ref"));
        ObjectNode n = team(t);
        n.set("spend", spend(admin.teamSpend(t)));
        return n;
    }

    private Object updateTeam(ServerRequest req, ServerResponse res) throws IOException {
        Team t = admin.team(req.path().pathParameters().get("ref"));
        JsonNode b = body(req);
        t = admin.updateTeam(t.id(), limits(b, t.limits()));
        if (b.has("disabled")) t = admin.setTeamDisabled(t.id(), b.get("disabled").asBoolean());
        return team(t);
    }

    // --- usage ---

    private Object usage(ServerRequest req, ServerResponse res) {
        UsageReports.GroupBy by = UsageReports.GroupBy.parse(query(req, "by"));
        String since = query(req, "since"), until = query(req, "until");
        Long from = since == null ? null : AdminService.parseTime(since, false);
        Long to = until == null ? null : AdminService.parseTime(until, true);
        String key = query(req, "key"), team = query(req, "team"), model = query(req, "model");
        ObjectNode root = JSON.createObjectNode();
        root.set("totals", totals(admin.usage(key, team, model, from, to, UsageReports.GroupBy.NONE).getFirst()));
        if (by != UsageReports.GroupBy.NONE) {
            root.put("by", by.name().toLowerCase(java.util.Locale.ROOT));
            ArrayNode a = root.putArray("groups");
            for (UsageReports.Totals t : admin.usage(key, team, model, from, to, by)) {
                ObjectNode n = totals(t);
                n.put("group", by == UsageReports.GroupBy.TEAM ? admin.teamName(t.group()) : t.group());
                a.add(n);
            }
        }
        return root;
    }

    // --- prices ---

    private Object setPrice(ServerRequest req, ServerResponse res) throws IOException {
        JsonNode b = body(req);
        String input = text(b, "input"), output = text(b, "output");
        if (input == null || output == null) throw new IllegalArgumentException("a price needs input and output (dollars per million tokens)");
        String cached = text(b, "cached_input");
        Price p = admin.setPrice(new Price(req.path().pathParameters().get("model"), text(b, "deployment"),
                b.path("min_prompt_tokens").asLong(0), Money.parse(input), Money.parse(output), cached == null ? null : Money.parse(cached), 0));
        return price(p);
    }

    private Object listPrices(ServerRequest req, ServerResponse res) {
        ArrayNode a = JSON.createArrayNode();
        for (Price p : admin.listPrices()) a.add(price(p));
        return list(a);
    }

    private Object deletePrice(ServerRequest req, ServerResponse res) {
        String tier = query(req, "min_prompt_tokens");
        int n = admin.deletePrice(req.path().pathParameters().get("model"), query(req, "deployment"), tier == null ? null : Long.parseLong(tier));
        ObjectNode o = JSON.createObjectNode();
        o.put("deleted", n);
        return o;
    }

    // --- JSON ---

    private static JsonNode body(ServerRequest req) throws IOException {
        byte[] bytes = req.content().hasEntity() ? req.content().as(byte[].class) : new byte[0];
        if (bytes.length == 0) return JSON.createObjectNode();
        JsonNode n = JSON.readTree(bytes);
        if (n == null || !n.isObject()) throw new IllegalArgumentException("the body must be a JSON object");
        return n;
    }

    private static String text(JsonNode b, String field) {
        JsonNode v = b.get(field);
        if (v == null || v.isNull()) return null;
        return v.isTextual() ? v.asText() : v.toString();
    }

    private static Long number(JsonNode b, String field) {
        JsonNode v = b.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.canConvertToLong()) throw new IllegalArgumentException(field + " must be a whole number");
        long n = v.asLong();
        return n == 0 ? null : n;
    }

    /** Limits from a body over the given ones: fields present replace (null or 0 clears). */
    private static Limits limits(JsonNode b, Limits base) {
        Limits l = base;
        if (b.has("models")) {
            JsonNode m = b.get("models");
            List<String> models = m == null || m.isNull() ? null
                    : m.isArray() ? java.util.stream.StreamSupport.stream(m.spliterator(), false).map(JsonNode::asText).toList()
                    : AdminService.parseModels(m.asText());
            l = l.withModels(models);
        }
        if (b.has("rpm")) l = l.withRpm(number(b, "rpm"));
        if (b.has("tpm")) l = l.withTpm(number(b, "tpm"));
        if (b.has("token_quota")) l = l.withTokenQuota(number(b, "token_quota"));
        if (b.has("budget") || b.has("period")) {
            BigDecimal budget = b.has("budget") ? (text(b, "budget") == null ? null : Money.parse(text(b, "budget"))) : l.budget();
            l = l.withBudget(budget, b.has("period") ? BudgetPeriod.parse(text(b, "period")) : l.period());
        }
        return l;
    }

    private static ObjectNode list(ArrayNode data) {
        ObjectNode n = JSON.createObjectNode();
        n.put("object", "list");
        n.set("data", data);
        return n;
    }

    private static String time(Long ms) {
        return ms == null ? null : Instant.ofEpochMilli(ms).toString();
    }

    private static ObjectNode limitsJson(Limits l) {
        ObjectNode n = JSON.createObjectNode();
        if (l.models() == null) n.putNull("models");
        else l.models().forEach(n.putArray("models")::add);
        n.put("rpm", l.rpm());
        n.put("tpm", l.tpm());
        n.put("budget", l.budget() == null ? null : Money.format(l.budget()));
        n.put("token_quota", l.tokenQuota());
        n.put("period", l.period().label());
        return n;
    }

    private ObjectNode key(ApiKeyRecord k) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", k.id());
        n.put("object", "api_key");
        n.put("name", k.name());
        n.put("prefix", k.prefix());
        n.put("team", admin.teamName(k.teamId()));
        n.setAll(limitsJson(k.limits()));
        n.put("created_at", time(k.createdAt()));
        n.put("expires_at", time(k.expiresAt()));
        n.put("revoked_at", time(k.revokedAt()));
        n.put("capture", k.capture());
        return n;
    }

    private static ObjectNode team(Team t) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", t.id());
        n.put("object", "team");
        n.put("name", t.name());
        n.setAll(limitsJson(t.limits()));
        n.put("disabled", t.disabled());
        n.put("created_at", time(t.createdAt()));
        return n;
    }

    private static ObjectNode spend(AdminService.Spend s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("period", s.period().label());
        n.put("period_start", time(s.periodStart()));
        n.put("spent", Money.format(s.spent()));
        n.put("reserved", Money.format(s.reserved()));
        n.put("tokens_used", s.tokensUsed());
        n.put("tokens_reserved", s.tokensReserved());
        return n;
    }

    private static ObjectNode totals(UsageReports.Totals t) {
        ObjectNode n = JSON.createObjectNode();
        n.put("requests", t.requests());
        n.put("errors", t.errors());
        n.put("prompt_tokens", t.promptTokens());
        n.put("completion_tokens", t.completionTokens());
        n.put("cached_tokens", t.cachedTokens());
        n.put("total_tokens", t.totalTokens());
        n.put("cost", new BigDecimal(Money.format(t.cost()))); // a JSON number, written exactly
        return n;
    }

    private static ObjectNode price(Price p) {
        ObjectNode n = JSON.createObjectNode();
        n.put("model", p.model());
        n.put("deployment", p.deployment().isEmpty() ? null : p.deployment());
        n.put("min_prompt_tokens", p.minPromptTokens());
        n.put("input", Money.format(p.input()));
        n.put("output", Money.format(p.output()));
        n.put("cached_input", p.cachedInput() == null ? null : Money.format(p.cachedInput()));
        return n;
    }

    private static void send(ServerResponse res, int status, Object body) {
        try {
            res.status(Status.create(status));
            res.header("Content-Type", "application/json");
            res.send(JSON.writeValueAsBytes(body));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void error(ServerResponse res, int status, String type, String code, String message) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", message);
        e.put("type", type);
        e.putNull("param");
        e.put("code", code);
        res.status(Status.create(status));
        res.header("Content-Type", "application/json");
        res.send(root.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String query(ServerRequest req, String name) {
        Optional<String> v = req.query().first(name).asOptional();
        return v.filter(s -> !s.isBlank()).orElse(null);
    }
}
