-- Responses API responses kept for previous_response_id and GET /v1/responses/{id}, shared by every
-- server on this store. owner is the team or key scope ('' without keys); the JSON is as sent, input_items
-- the request's input as the Responses API lists it.
CREATE TABLE responses (
    id           VARCHAR(64) PRIMARY KEY,
    owner        VARCHAR(200) NOT NULL,
    created_at   BIGINT NOT NULL,
    response     TEXT NOT NULL,
    conversation TEXT NOT NULL,
    input_items  TEXT NOT NULL
);
CREATE INDEX responses_created_at ON responses (created_at);
