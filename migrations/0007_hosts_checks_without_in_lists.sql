-- fleetdock: foreign-keys-off
-- The hosts table again, with the same columns, data and indexes, and its two `IN (...)` checks written
-- as comparisons.
--
-- SQLite evaluates a CHECK whose column an UPDATE sets, and codes `x IN ('a', 'b', 'c')` of three or
-- more constants as a lookup in a temporary b-tree it builds once per statement run. The write of an
-- apply result is one run per host, so each built two such trees (outcome, action): 7 of its 37 µs of
-- CPU (bench/README.md). `x = 'a' OR x = 'b' OR ...` checks the same values with no tree.
--
-- SQLite cannot change a table's constraints in place: the new table is created, filled, the old one
-- dropped and the new one renamed (https://sqlite.org/lang_altertable.html#otheralter), with foreign
-- keys off (the runner does that for a migration with this file's first line, and refuses to commit
-- when a reference dangles). rollout_hosts and drift_periods refer to hosts by name, so they refer to
-- the new table once it is renamed.
CREATE TABLE hosts_new (
  id                         TEXT PRIMARY KEY,              -- uuid
  name                       TEXT NOT NULL UNIQUE,
  group_id                   INTEGER NOT NULL REFERENCES groups(id),
  credential_hash            TEXT NOT NULL UNIQUE,
  join_token_id              INTEGER REFERENCES join_tokens(id),
  enrolled_at                TEXT NOT NULL,
  last_seen_at               TEXT,                          -- null until the first hello
  connected                  INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),
  facts                      TEXT CHECK (facts IS NULL OR json_valid(facts)),
  applied_revision           INTEGER,
  -- the last apply-result, one column per field so later queries (failures by code) need no JSON
  last_result_revision       INTEGER,
  last_result_outcome        TEXT CHECK (last_result_outcome IS NULL OR last_result_outcome = 'applied' OR last_result_outcome = 'unchanged'
                                         OR last_result_outcome = 'rolled-back' OR last_result_outcome = 'failed'),
  last_result_action         TEXT CHECK (last_result_action IS NULL OR last_result_action = 'none' OR last_result_action = 'reload'
                                         OR last_result_action = 'restart'),
  last_result_files          TEXT CHECK (last_result_files IS NULL OR json_valid(last_result_files)),
  last_result_verification   TEXT CHECK (last_result_verification IS NULL OR json_valid(last_result_verification)),
  last_result_error_code     TEXT,
  last_result_error_message  TEXT,
  last_result_duration_ms    REAL,
  last_result_at             TEXT,
  observed                   TEXT CHECK (observed IS NULL OR json_valid(observed)),
  observed_at                TEXT,
  desired_revision           INTEGER CHECK (desired_revision IS NULL OR desired_revision >= 1),
  revoked_at                 TEXT
);

INSERT INTO hosts_new (rowid, id, name, group_id, credential_hash, join_token_id, enrolled_at, last_seen_at, connected, facts,
  applied_revision, last_result_revision, last_result_outcome, last_result_action, last_result_files,
  last_result_verification, last_result_error_code, last_result_error_message, last_result_duration_ms, last_result_at,
  observed, observed_at, desired_revision, revoked_at)
SELECT rowid, id, name, group_id, credential_hash, join_token_id, enrolled_at, last_seen_at, connected, facts,
  applied_revision, last_result_revision, last_result_outcome, last_result_action, last_result_files,
  last_result_verification, last_result_error_code, last_result_error_message, last_result_duration_ms, last_result_at,
  observed, observed_at, desired_revision, revoked_at
FROM hosts ORDER BY rowid;

DROP TABLE hosts;
ALTER TABLE hosts_new RENAME TO hosts;

CREATE INDEX hosts_group ON hosts(group_id);
CREATE INDEX hosts_disconnected_since ON hosts(last_seen_at) WHERE connected = 0;
