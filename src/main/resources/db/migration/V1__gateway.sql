-- Genset store, schema 1: API keys, teams, prices, the usage ledger, budget counters, deployments.
-- One schema for SQLite and PostgreSQL: money is BIGINT nano-dollars (1e-9 USD), prices are
-- nano-dollars per million tokens, times are BIGINT epoch milliseconds, flags are INTEGER 0/1.

CREATE TABLE teams (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    models          TEXT,               -- comma-separated allowed models; NULL allows all
    rpm             BIGINT,             -- requests per minute; NULL is unlimited
    tpm             BIGINT,             -- tokens per minute
    budget_nanos    BIGINT,             -- spend limit per period
    token_quota     BIGINT,             -- tokens per period
    budget_period   TEXT    NOT NULL,   -- daily, weekly, monthly or total
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT    PRIMARY KEY,
    key_hash        TEXT    NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
    prefix          TEXT    NOT NULL,          -- the first characters, shown in listings
    name            TEXT    NOT NULL,
    team_id         TEXT    REFERENCES teams (id),
    models          TEXT,
    rpm             BIGINT,
    tpm             BIGINT,
    budget_nanos    BIGINT,
    token_quota     BIGINT,
    budget_period   TEXT    NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE prices (
    model               TEXT   NOT NULL,
    deployment          TEXT   NOT NULL DEFAULT '',  -- '' applies to every deployment of the model
    min_prompt_tokens   BIGINT NOT NULL DEFAULT 0,   -- tier: applies from this prompt length on
    input_nanos         BIGINT NOT NULL,             -- per million prompt tokens
    output_nanos        BIGINT NOT NULL,             -- per million completion tokens
    cached_input_nanos  BIGINT,                      -- per million cached prompt tokens; NULL: input price
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (model, deployment, min_prompt_tokens)
);

CREATE TABLE usage_ledger (
    request_id          TEXT    PRIMARY KEY,
    ts                  BIGINT  NOT NULL,
    key_id              TEXT,
    team_id             TEXT,
    model               TEXT    NOT NULL,
    provider            TEXT,
    deployment          TEXT,
    prompt_tokens       BIGINT  NOT NULL,
    completion_tokens   BIGINT  NOT NULL,
    cached_tokens       BIGINT  NOT NULL,
    cost_nanos          BIGINT  NOT NULL,
    latency_ms          BIGINT  NOT NULL,
    status              TEXT    NOT NULL
);
CREATE INDEX usage_ledger_ts ON usage_ledger (ts);
CREATE INDEX usage_ledger_key_ts ON usage_ledger (key_id, ts);
CREATE INDEX usage_ledger_team_ts ON usage_ledger (team_id, ts);

-- spend and tokens of one key or team ('key:ID', 'team:ID') in one budget period
CREATE TABLE budget_counters (
    scope           TEXT    NOT NULL,
    period_start    BIGINT  NOT NULL,
    spent_nanos     BIGINT  NOT NULL DEFAULT 0,
    reserved_nanos  BIGINT  NOT NULL DEFAULT 0,
    tokens_used     BIGINT  NOT NULL DEFAULT 0,
    tokens_reserved BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, period_start)
);

-- what an admitted, not yet settled request holds; released when settled or when it goes stale
CREATE TABLE budget_reservations (
    request_id      TEXT    PRIMARY KEY,
    created_at      BIGINT  NOT NULL,
    key_scope       TEXT,
    key_period      BIGINT,
    team_scope      TEXT,
    team_period     BIGINT,
    cost_nanos      BIGINT  NOT NULL,
    tokens          BIGINT  NOT NULL
);
CREATE INDEX budget_reservations_created ON budget_reservations (created_at);

-- where a public model name is served: the local engine or an OpenAI-compatible upstream
CREATE TABLE deployments (
    name            TEXT    PRIMARY KEY,
    model           TEXT    NOT NULL,
    provider        TEXT    NOT NULL,          -- 'local' or 'openai'
    base_url        TEXT,
    api_key         TEXT,
    upstream_model  TEXT,
    priority        INTEGER NOT NULL DEFAULT 0,  -- lower is tried first
    weight          INTEGER NOT NULL DEFAULT 1,
    timeout_ms      BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX deployments_model ON deployments (model);

CREATE TABLE model_routes (
    model           TEXT    PRIMARY KEY,
    strategy        TEXT    NOT NULL           -- priority, weighted or least-busy
);
