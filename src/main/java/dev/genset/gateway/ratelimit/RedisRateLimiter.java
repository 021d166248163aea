package dev.genset.gateway.ratelimit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Rate limits shared by every process that uses one Redis: each call is one Lua script that
 * refills, checks and takes from all its buckets atomically, on the Redis server's clock.
 */
public final class RedisRateLimiter implements RateLimiter {
    static final String SCRIPT = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local take = ARGV[1] == 'take'
            local n = #KEYS
            local levels = {}
            local ok = 1
            local retry = 0
            local refused = -1
            for i = 1, n do
              local cap = tonumber(ARGV[2 * i])
              local amt = tonumber(ARGV[2 * i + 1])
              local v = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
              local tokens = tonumber(v[1])
              local ts = tonumber(v[2])
              if tokens == nil or ts == nil then tokens = cap; ts = now end
              if now > ts then tokens = math.min(cap, tokens + (now - ts) * cap / 60000) end
              levels[i] = tokens
              if take and tokens < amt then
                if ok == 1 then refused = i - 1 end
                ok = 0
                if amt > cap or retry < 0 then retry = -1
                else
                  local wait = math.ceil((amt - tokens) * 60000 / cap)
                  if wait > retry then retry = wait end
                end
              end
            end
            local out = {ok, retry, refused}
            for i = 1, n do
              local cap = tonumber(ARGV[2 * i])
              local amt = tonumber(ARGV[2 * i + 1])
              local tokens = levels[i]
              if take then
                if ok == 1 then tokens = tokens - amt end
              else
                tokens = math.min(cap, tokens + amt)
              end
              redis.call('HSET', KEYS[i], 'tokens', tostring(tokens), 'ts', tostring(now))
              redis.call('PEXPIRE', KEYS[i], 120000)
              out[#out + 1] = tostring(tokens)
            end
            return out
            """;

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final String namespace;
    private volatile String sha;

    /**
     * @param redisUrl  e.g. {@code redis://host:6379/0} or {@code redis://:password@host:port}
     * @param namespace key prefix, so several deployments can share one Redis
     */
    public RedisRateLimiter(String redisUrl, String namespace) {
        this.client = RedisClient.create(redisUrl);
        this.client.setDefaultTimeout(Duration.ofSeconds(5));
        this.connection = client.connect();
        this.namespace = namespace == null || namespace.isBlank() ? "genset" : namespace;
        this.sha = connection.sync().scriptLoad(SCRIPT);
    }

    @Override
    public Decision acquire(List<Take> takes) {
        return run(takes, true);
    }

    @Override
    public void refund(List<Take> gives) {
        run(gives, false);
    }

    private Decision run(List<Take> takes, boolean take) {
        if (takes.isEmpty()) return new Decision(true, 0, -1, List.of());
        // one hash tag: every bucket of a call lives in one slot, as a script on a cluster needs
        String[] keys = new String[takes.size()];
        String[] args = new String[1 + 2 * takes.size()];
        args[0] = take ? "take" : "give";
        for (int i = 0; i < takes.size(); i++) {
            Take t = takes.get(i);
            keys[i] = namespace + ":{rl}:" + t.bucket();
            args[1 + 2 * i] = Long.toString(t.capacityPerMinute());
            args[2 + 2 * i] = Long.toString(t.amount());
        }
        RedisCommands<String, String> redis = connection.sync();
        List<Object> out;
        try {
            out = redis.evalsha(sha, ScriptOutputType.MULTI, keys, args);
        } catch (RedisNoScriptException e) { // the server restarted or flushed its scripts
            sha = redis.scriptLoad(SCRIPT);
            out = redis.evalsha(sha, ScriptOutputType.MULTI, keys, args);
        }
        boolean ok = ((Number) out.get(0)).longValue() == 1;
        long retry = ((Number) out.get(1)).longValue();
        int refused = (int) ((Number) out.get(2)).longValue();
        List<Level> levels = new ArrayList<>(takes.size());
        for (int i = 0; i < takes.size(); i++) {
            Take t = takes.get(i);
            double level = Double.parseDouble(String.valueOf(out.get(3 + i)));
            levels.add(LocalRateLimiter.level(t.bucket(), t.capacityPerMinute(), level));
        }
        return new Decision(ok, ok ? 0 : retry, refused, levels);
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
