-- 0001_initial: groups and their immutable settings revisions, enrolled hosts with what they last
-- reported, join tokens and operator tokens.
--
-- Conventions for every migration:
-- * Times are ISO 8601 UTC text (`2026-11-28T04:53:00.000Z`): they sort and compare as text.
-- * Secrets are never stored, only the sha256 hex of them (`*_hash`).
-- * JSON columns are checked with json_valid.
-- * No BEGIN/COMMIT here: the runner wraps each file in its own transaction.
--
-- Room is left for what comes next without building it: staged rollouts (a per-host desired revision
-- or rollout tables), drift periods (a table of began/ended times per host), an audit log (its own
-- table; `created_by` columns already name the operator), operator roles (operator_tokens.role) and
-- token expiry, use counts and revocation (join_tokens).

CREATE TABLE groups (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL,
  created_by  TEXT
);

-- One row per settings revision; numbered 1, 2, ... within its group and never changed afterwards.
CREATE TABLE revisions (
  id          INTEGER PRIMARY KEY,
  group_id    INTEGER NOT NULL REFERENCES groups(id),
  number      INTEGER NOT NULL CHECK (number >= 1),
  settings    TEXT NOT NULL CHECK (json_valid(settings)),
  created_at  TEXT NOT NULL,
  created_by  TEXT,
  UNIQUE (group_id, number)
);

-- Hosts apply a revision by number and report it back: if a revision could change, "applied
-- revision 3" would stop meaning anything. So the database itself refuses.
CREATE TRIGGER revisions_refuse_update BEFORE UPDATE ON revisions
BEGIN
  SELECT RAISE(ABORT, 'revisions are immutable: create a new revision instead');
END;

CREATE TRIGGER revisions_refuse_delete BEFORE DELETE ON revisions
BEGIN
  SELECT RAISE(ABORT, 'revisions are immutable and are never deleted');
END;

CREATE TABLE join_tokens (
  id          INTEGER PRIMARY KEY,
  group_id    INTEGER NOT NULL REFERENCES groups(id),
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL,
  created_by  TEXT,
  expires_at  TEXT NOT NULL,
  uses_total  INTEGER NOT NULL CHECK (uses_total >= 1),
  uses_left   INTEGER NOT NULL CHECK (uses_left >= 0 AND uses_left <= uses_total),
  revoked_at  TEXT
);

CREATE INDEX join_tokens_group ON join_tokens(group_id);

CREATE TABLE hosts (
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
  last_result_outcome        TEXT CHECK (last_result_outcome IS NULL OR last_result_outcome IN ('applied', 'unchanged', 'rolled-back', 'failed')),
  last_result_action         TEXT CHECK (last_result_action IS NULL OR last_result_action IN ('none', 'reload', 'restart')),
  last_result_files          TEXT CHECK (last_result_files IS NULL OR json_valid(last_result_files)),
  last_result_verification   TEXT CHECK (last_result_verification IS NULL OR json_valid(last_result_verification)),
  last_result_error_code     TEXT,
  last_result_error_message  TEXT,
  last_result_duration_ms    REAL,
  last_result_at             TEXT,
  observed                   TEXT CHECK (observed IS NULL OR json_valid(observed)),
  observed_at                TEXT
);

CREATE INDEX hosts_group ON hosts(group_id);

CREATE TABLE operator_tokens (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL,
  revoked_at  TEXT
);
