-- A counter that every change to API keys or teams bumps (after the change commits). Gateways
-- keep keys in memory and read this one row per request: a revocation made by any process shows
-- at the next request without looking the key itself up each time.
CREATE TABLE gateway_versions (
    name        TEXT    PRIMARY KEY,
    version     BIGINT  NOT NULL
);
INSERT INTO gateway_versions (name, version) VALUES ('keys', 0);
