-- Trust (issue #4): revoked hosts, and operator names unique among live tokens.
--
-- A revoked host keeps its row (its name, history and drift periods stay readable) but its credential
-- no longer authenticates; `fleetdock host remove` deletes the row to free the name.
ALTER TABLE hosts ADD COLUMN revoked_at TEXT;

-- `fleetdock operator revoke NAME` names a token: at most one live token per name. A revoked token's
-- name may be used again.
CREATE UNIQUE INDEX operator_tokens_live_name ON operator_tokens(name) WHERE revoked_at IS NULL;
