package dev.genset.gateway;

import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.ratelimit.LocalRateLimiter;
import dev.genset.gateway.ratelimit.RateLimiter;
import dev.genset.gateway.ratelimit.RedisRateLimiter;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.BudgetLeases;
import dev.genset.store.Budgets;
import dev.genset.store.Ids;
import dev.genset.store.Keys;
import dev.genset.store.LedgerWriter;
import dev.genset.store.Limits;
import dev.genset.store.Money;
import dev.genset.store.Prices;
import dev.genset.store.Store;
import dev.genset.store.Team;
import dev.genset.store.UsageRow;

import java.math.BigDecimal;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * API management in front of the model endpoints: who may call (API keys), which models, how
 * often (rate limits per key and team), how much (budgets and token quotas), and what each request
 * used and cost (the usage ledger).
 *
 * <p>A server calls {@link #admit} before serving a request and {@link #settle} once after it,
 * whatever the outcome; a refusal is a {@link GatewayException} with the HTTP status, OpenAI's
 * error type and code, and the headers to send.
 */
public final class Gateway implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Gateway.class.getName());

    private final Store store;
    private final boolean ownsStore;
    private final RateLimiter limiter;
    private final GatewayConfig config;
    private final Keys keys;
    private final KeyCache keyCache;
    private final Budgets budgets;
    private final BudgetLeases leases;
    private final PriceBook prices;
    private final LedgerWriter ledger;
    private final AdminService admin;
    private final SecretBox secrets; // null: no master key
    private final ScheduledExecutorService maintenance;
    private volatile boolean openAccess;
    private volatile dev.genset.gateway.route.TokenCounter tokenCounter = dev.genset.gateway.route.TokenCounter.ESTIMATE;
    private final dev.genset.gateway.route.Router router;

    /** Opens the store (and Redis if configured) the configuration names; closing the gateway closes them. */
    public static Gateway open(GatewayConfig config) {
        Store store = Store.open(config.database());
        RateLimiter limiter;
        try {
            limiter = config.redisUrl() != null ? new RedisRateLimiter(config.redisUrl(), "genset") : new LocalRateLimiter();
        } catch (RuntimeException e) {
            store.close();
            throw new IllegalStateException("cannot connect to Redis: " + e.getMessage(), e);
        }
        try {
            return new Gateway(store, limiter, config, true);
        } catch (RuntimeException e) {
            try {
                limiter.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            store.close();
            throw e;
        }
    }

    /** A gateway over an open store; closing it leaves the store open but closes the limiter. */
    public Gateway(Store store, RateLimiter limiter, GatewayConfig config) {
        this(store, limiter, config, false);
    }

    private Gateway(Store store, RateLimiter limiter, GatewayConfig config, boolean ownsStore) {
        this.store = store;
        this.ownsStore = ownsStore;
        this.limiter = limiter;
        this.config = config;
        this.keys = new Keys(store);
        this.keyCache = new KeyCache(store, keys);
        this.budgets = new Budgets(store);
        this.prices = new PriceBook(new Prices(store), config.priceCacheMs());
        this.secrets = SecretBox.of(config.masterKey());
        this.admin = new AdminService(store, prices::invalidate, secrets);
        if (secrets != null) {
            int sealed = admin.sealDeploymentKeys();
            if (sealed > 0) LOG.log(System.Logger.Level.INFO, "encrypted the API keys of " + sealed + " deployments with the master key");
        }
        this.router = new dev.genset.gateway.route.Router(
                new dev.genset.gateway.route.UpstreamClient((model, text) -> tokenCounter.count(model, text)),
                dev.genset.gateway.route.Router.Options.DEFAULTS);
        this.router.load(store, secrets); // fails here (no threads started yet) if sealed keys do not open
        this.ledger = new LedgerWriter(store);
        this.leases = new BudgetLeases(store, ledger, config.reservationTtl());
        this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "genset-gateway-maintenance");
            t.setDaemon(true);
            return t;
        });
        long sweepMs = Math.clamp(config.reservationTtl().toMillis() / 2, 1, 60_000);
        maintenance.scheduleWithFixedDelay(this::releaseStaleReservations, 0, sweepMs, TimeUnit.MILLISECONDS);
        long tick = leases.maintenanceIntervalMs();
        maintenance.scheduleWithFixedDelay(this::maintainLeases, tick, tick, TimeUnit.MILLISECONDS);
    }

    private void maintainLeases() {
        try {
            leases.maintain();
        } catch (RuntimeException e) { // a scheduled task that throws is not run again
            LOG.log(System.Logger.Level.WARNING, "maintaining budget leases failed: " + e.getMessage());
        }
    }

    private void releaseStaleReservations() {
        try {
            int n = budgets.releaseStale(System.currentTimeMillis() - config.reservationTtl().toMillis());
            if (n > 0) LOG.log(System.Logger.Level.INFO, "released " + n + " stale budget reservations");
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing stale budget reservations failed: " + e.getMessage());
        }
    }

    public Store store() {
        return store;
    }

    public AdminService admin() {
        return admin;
    }

    public PriceBook prices() {
        return prices;
    }

    public LedgerWriter ledger() {
        return ledger;
    }

    /** The budget this process admits requests against in memory. */
    public BudgetLeases leases() {
        return leases;
    }

    /** Routes for models served by deployments in the store (reload after changing them). */
    public dev.genset.gateway.route.Router router() {
        return router;
    }

    /** Re-reads deployments and strategies from the store. */
    public void reloadRoutes() {
        router.load(store, secrets);
    }

    /** Counts tokens where an upstream reports none; the server plugs in the engine's tokenizer. */
    public void setTokenCounter(dev.genset.gateway.route.TokenCounter counter) {
        this.tokenCounter = counter == null ? dev.genset.gateway.route.TokenCounter.ESTIMATE : counter;
    }

    public GatewayConfig config() {
        return config;
    }

    /**
     * Whether requests without a key may be served: only while no key exists at all, and only
     * when the server listens on a loopback address or was started with an explicit open flag.
     * Once any key exists, keys are required whatever this says.
     */
    public boolean openAccessAllowed(InetAddress bindAddress, boolean openFlag) {
        if (keyCache.anyKeys()) return false;
        return openFlag || (bindAddress != null && bindAddress.isLoopbackAddress());
    }

    /** Records where the server listens, which decides open access for requests without a key. */
    public void configureOpenAccess(InetAddress bindAddress, boolean openFlag) {
        this.openAccess = openFlag || (bindAddress != null && bindAddress.isLoopbackAddress());
    }

    /** Whether keys are required now (any key exists). */
    public boolean keysRequired() {
        return keyCache.anyKeys();
    }

    /**
     * Admits a request or refuses it.
     *
     * @param bearerKey           the key from {@code Authorization: Bearer}, or null
     * @param model               the public model name the request asks for
     * @param promptTokens        the prompt's length in tokens
     * @param maxCompletionTokens the most the request may generate (max_tokens / max_completion_tokens,
     *                            else what the context leaves); 0 or less for the configured default
     * @throws GatewayException 401 (no, unknown, revoked or expired key), 403 (model not allowed, team
     *                          disabled), 429 rate_limit_exceeded with Retry-After, 429 insufficient_quota
     */
    public Admission admit(String bearerKey, String model, int promptTokens, int maxCompletionTokens) {
        return admitAuthenticated(authenticate(bearerKey), model, promptTokens, maxCompletionTokens);
    }

    /**
     * Checks the caller's key before any work is done for the request: known, not revoked, not
     * expired (the key as the store holds it now: a change made by any process counts). Returns the
     * key with its team for {@link #admitAuthenticated}, or null for a request
     * without a key under open access.
     *
     * @throws GatewayException 401 for no key while keys are required, an unknown, revoked or expired key
     */
    public Keys.Resolved authenticate(String bearerKey) {
        if (bearerKey == null || bearerKey.isBlank()) {
            if (keyCache.anyKeys() || !openAccess)
                throw GatewayException.unauthorized("missing_api_key",
                        "You didn't provide an API key. Send it in the Authorization header: Authorization: Bearer YOUR_KEY.");
            return null;
        }
        Keys.Resolved r = keyCache.lookup(ApiKeys.hash(bearerKey));
        if (r == null)
            throw GatewayException.unauthorized("invalid_api_key", "Incorrect API key provided: " + mask(bearerKey) + ".");
        ApiKeyRecord key = r.key();
        if (key.revoked()) throw GatewayException.unauthorized("invalid_api_key", "This API key has been revoked.");
        if (key.expired(System.currentTimeMillis()))
            throw GatewayException.unauthorized("invalid_api_key", "This API key expired at " + Instant.ofEpochMilli(key.expiresAt()) + ".");
        return r;
    }

    /**
     * Admits a request whose key {@link #authenticate} accepted (null: open access).
     *
     * @see #admit(String, String, int, int)
     */
    public Admission admitAuthenticated(Keys.Resolved caller, String model, int promptTokens, int maxCompletionTokens) {
        long now = System.currentTimeMillis();
        long prompt = Math.max(0, promptTokens);
        long maxCompletion = maxCompletionTokens > 0 ? maxCompletionTokens : config.defaultMaxCompletionTokens();
        String requestId = Ids.ordered("req_", 24);
        if (caller == null) {
            if (keyCache.anyKeys() || !openAccess)
                throw GatewayException.unauthorized("missing_api_key",
                        "You didn't provide an API key. Send it in the Authorization header: Authorization: Bearer YOUR_KEY.");
            return new Admission(requestId, null, null, model, prompt, maxCompletion, BigDecimal.ZERO, null, null, null, List.of(), Map.of(), now);
        }
        ApiKeyRecord key = caller.key();
        Team team = caller.team();
        if (key.expired(now))
            throw GatewayException.unauthorized("invalid_api_key", "This API key expired at " + Instant.ofEpochMilli(key.expiresAt()) + ".");
        if (team != null && team.disabled())
            throw GatewayException.forbidden("team_disabled", "The team of this API key (" + team.name() + ") is disabled.");
        if (!key.limits().allowsModel(model) || (team != null && !team.limits().allowsModel(model)))
            throw GatewayException.forbidden("model_not_allowed", "This API key may not use the model " + model + ".");

        // rate limits: one request and the most tokens the request can use, per key and per team
        long reserveTokens = prompt + maxCompletion;
        List<RateLimiter.Take> takes = new ArrayList<>(4);
        List<RateLimiter.Take> tokenTakes = new ArrayList<>(2);
        addTakes(takes, tokenTakes, "key:" + key.id(), key.limits(), reserveTokens);
        if (team != null) addTakes(takes, tokenTakes, "team:" + team.id(), team.limits(), reserveTokens);
        Map<String, String> headers = Map.of();
        if (!takes.isEmpty()) {
            RateLimiter.Decision d = limiter.acquire(takes);
            headers = rateHeaders(takes, d.levels());
            if (!d.allowed()) throw rateLimited(model, takes, d, headers, reserveTokens);
        }

        // budgets and token quotas: hold the most the request can cost, from this process's leases
        Budgets.Scope keyScope = Budgets.Scope.key(key.id(), key.limits(), now);
        Budgets.Scope teamScope = team == null ? null : Budgets.Scope.team(team.id(), team.limits(), now);
        BigDecimal maxCost = BigDecimal.ZERO;
        BudgetLeases.Hold hold = null;
        if (keyScope != null || teamScope != null) {
            maxCost = prices.maxCost(model, List.of(), prompt, maxCompletion);
            BudgetLeases.Result r;
            try {
                r = leases.acquire(requestId, keyScope, teamScope, Money.toNanos(maxCost), reserveTokens);
            } catch (RuntimeException e) {
                if (!tokenTakes.isEmpty()) limiter.refund(tokenTakes);
                throw e;
            }
            if (r.refusal() != null) { // the attempt counts as a request; its tokens go back
                if (!tokenTakes.isEmpty()) limiter.refund(tokenTakes);
                throw quotaExceeded(r.refusal(), maxCost, reserveTokens);
            }
            hold = r.hold();
        }
        return new Admission(requestId, key, team, model, prompt, maxCompletion, maxCost, keyScope, teamScope, hold,
                tokenTakes, headers, now);
    }

    private static void addTakes(List<RateLimiter.Take> takes, List<RateLimiter.Take> tokenTakes, String owner, Limits l, long tokens) {
        if (l.rpm() != null) takes.add(new RateLimiter.Take(owner + ":rpm", l.rpm(), 1));
        if (l.tpm() != null) {
            RateLimiter.Take t = new RateLimiter.Take(owner + ":tpm", l.tpm(), tokens);
            takes.add(t);
            tokenTakes.add(t);
        }
    }

    /** OpenAI's headers, from the most constrained request bucket and the most constrained token bucket. */
    static Map<String, String> rateHeaders(List<RateLimiter.Take> takes, List<RateLimiter.Level> levels) {
        Map<String, String> h = new LinkedHashMap<>();
        RateLimiter.Level req = null, tok = null;
        for (int i = 0; i < takes.size(); i++) {
            RateLimiter.Level l = levels.get(i);
            if (takes.get(i).bucket().endsWith(":rpm")) {
                if (req == null || l.remaining() < req.remaining()) req = l;
            } else if (tok == null || l.remaining() < tok.remaining()) {
                tok = l;
            }
        }
        if (req != null) {
            h.put("x-ratelimit-limit-requests", Long.toString(req.capacity()));
            h.put("x-ratelimit-remaining-requests", Long.toString(req.remaining()));
            h.put("x-ratelimit-reset-requests", duration(req.msToFull()));
        }
        if (tok != null) {
            h.put("x-ratelimit-limit-tokens", Long.toString(tok.capacity()));
            h.put("x-ratelimit-remaining-tokens", Long.toString(tok.remaining()));
            h.put("x-ratelimit-reset-tokens", duration(tok.msToFull()));
        }
        return h;
    }

    /** A duration as OpenAI writes resets: "120ms", "1.5s", "6m0s". */
    static String duration(long ms) {
        if (ms < 1000) return ms + "ms";
        if (ms < 60_000) {
            BigDecimal s = BigDecimal.valueOf(ms, 3).stripTrailingZeros();
            return (s.scale() < 0 ? s.setScale(0) : s).toPlainString() + "s";
        }
        long m = ms / 60_000;
        BigDecimal s = BigDecimal.valueOf(ms % 60_000, 3).stripTrailingZeros();
        return m + "m" + (s.scale() < 0 ? s.setScale(0) : s).toPlainString() + "s";
    }

    private static GatewayException rateLimited(String model, List<RateLimiter.Take> takes, RateLimiter.Decision d,
                                                Map<String, String> headers, long tokens) {
        RateLimiter.Take t = takes.get(Math.max(0, d.refusedBy()));
        RateLimiter.Level l = d.levels().get(Math.max(0, d.refusedBy()));
        boolean requests = t.bucket().endsWith(":rpm");
        String owner = t.bucket().startsWith("team:") ? "team" : "key";
        String unit = requests ? "requests per min (RPM)" : "tokens per min (TPM)";
        Map<String, String> h = new LinkedHashMap<>(headers);
        String message;
        if (d.retryAfterMs() < 0) {
            message = "Request too large for " + model + " on " + unit + " of this " + owner + ": Limit " + t.capacityPerMinute()
                    + ", Requested " + tokens + ". Lower the prompt or max_tokens.";
        } else {
            long secs = Math.max(1, (d.retryAfterMs() + 999) / 1000);
            h.put("Retry-After", Long.toString(secs));
            message = "Rate limit reached for " + model + " on " + unit + " of this " + owner + ": Limit " + t.capacityPerMinute()
                    + ", Remaining " + l.remaining() + ", Requested " + t.amount() + ". Please try again in " + duration(d.retryAfterMs()) + ".";
        }
        return new GatewayException(429, requests ? "requests" : "tokens", "rate_limit_exceeded", message, h);
    }

    private static GatewayException quotaExceeded(Budgets.Refusal r, BigDecimal maxCost, long tokens) {
        String owner = r.scope().scope().startsWith("team:") ? "team" : "key";
        String period = r.scope().scope().substring(r.scope().scope().lastIndexOf(':') + 1);
        String message = r.tokens()
                ? "You exceeded the " + period + " token quota of this " + owner + ": quota " + r.limit() + ", used " + r.used()
                        + ", held by requests in flight " + r.reserved() + ", this request may use " + tokens + "."
                : "You exceeded the " + period + " budget of this " + owner + ": budget $" + Money.format(Money.fromNanos(r.limit()))
                        + ", spent $" + Money.format(Money.fromNanos(r.used())) + ", held by requests in flight $"
                        + Money.format(Money.fromNanos(r.reserved())) + ", this request may cost up to $" + Money.format(maxCost) + ".";
        return new GatewayException(429, "insufficient_quota", "insufficient_quota", message);
    }

    private static String mask(String key) {
        if (key.length() <= 10) return "****";
        return key.substring(0, 6) + "****" + key.substring(key.length() - 4);
    }

    /**
     * Books what an admitted request used and releases what it reserved. Call it once per
     * admission, also for failed or cancelled requests (with the usage so far); later calls do
     * nothing. Never blocks on the database: the ledger row is written by the ledger thread.
     *
     * @param status "ok", "error", "cancelled", ... as recorded in the ledger
     */
    public void settle(Admission a, Usage actual, String status) {
        if (a == null || !a.settled.compareAndSet(false, true)) return;
        Usage u = actual == null ? Usage.NONE : actual;
        BigDecimal cost = prices.cost(a.model(), u.deployment(), u.promptTokens(), u.cachedTokens(), u.completionTokens());
        if (!a.tokenTakes().isEmpty()) {
            List<RateLimiter.Take> gives = new ArrayList<>();
            for (RateLimiter.Take t : a.tokenTakes()) {
                long unused = t.amount() - u.totalTokens();
                if (unused > 0) gives.add(new RateLimiter.Take(t.bucket(), t.capacityPerMinute(), unused));
            }
            if (!gives.isEmpty()) {
                try {
                    limiter.refund(gives);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "rate-limit refund failed: " + e.getMessage());
                }
            }
        }
        long latency = (System.nanoTime() - a.startNanos()) / 1_000_000;
        UsageRow row = new UsageRow(a.requestId(), a.admittedAtMs(), a.key() == null ? null : a.key().id(),
                a.team() == null ? null : a.team().id(), a.model(), u.provider(), u.deployment(), u.promptTokens(),
                u.completionTokens(), u.cachedTokens(), cost, latency, status == null ? "ok" : status);
        BudgetLeases.Hold hold = a.hold();
        try {
            ledger.submit(new LedgerWriter.Entry(row, a.keyScope(), a.teamScope(),
                    hold == null ? null : hold.keyLease(), hold == null ? null : hold.teamLease()));
        } finally { // after the submit: a lease is returned only once the bookings handed over are written
            leases.release(hold, Money.toNanos(cost), u.totalTokens());
        }
    }

    /** Commits the ledger, returns the budget leases, then releases the limiter (and the store if the gateway opened it). */
    @Override
    public void close() {
        stopMaintenance();
        keyCache.close();
        ledger.close();
        try {
            leases.close();
        } catch (RuntimeException e) { // the stale sweep of another process releases them
            LOG.log(System.Logger.Level.WARNING, "returning budget leases: " + e.getMessage());
        }
        try {
            limiter.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing the rate limiter: " + e.getMessage());
        }
        if (ownsStore) store.close();
    }

    private void stopMaintenance() {
        maintenance.shutdownNow();
        try {
            maintenance.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * For tests: stops this gateway as a killed process stops. Nothing more is written or returned:
     * its budget leases stay in the store until another process's stale sweep releases them.
     */
    void simulateCrash() {
        maintenance.shutdownNow();
        keyCache.close();
        try {
            limiter.close();
        } catch (Exception ignored) {
            // gone with the process
        }
        if (ownsStore) store.close();
    }
}
