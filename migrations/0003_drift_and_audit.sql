-- 0003_drift_and_audit: drift periods per host, field and kind; each group's drift policy; the
-- append-only audit log.
--
-- Conventions as in 0001 (ISO 8601 UTC text times, json_valid checks, no BEGIN/COMMIT). Nothing here
-- may ever hold a secret: proxy URLs in `expected`/`actual`/`details` are redacted before they are
-- written (controller/drift/classify.ts, controller/store/audit.ts).

-- What a group does about drift: `audit` reports it, `enforce` also re-sends the host's desired
-- revision to a drifted connected host (rate-limited, recorded in the audit log).
ALTER TABLE groups ADD COLUMN drift_policy TEXT NOT NULL DEFAULT 'audit' CHECK (drift_policy IN ('audit', 'enforce'));

-- One row per drift period: a host's `field` differed from its desired revision for reason `kind`
-- from `began_at` until `ended_at` (NULL while it lasts). `field` is a settings field, or `host` for
-- a reason that concerns the whole host (offline, or behind/failed with no field to show for it).
CREATE TABLE drift_periods (
  id                INTEGER PRIMARY KEY,
  host_id           TEXT NOT NULL REFERENCES hosts(id),
  field             TEXT NOT NULL CHECK (field IN ('registryMirrors', 'insecureRegistries', 'daemonProxy', 'clientProxy', 'host')),
  kind              TEXT NOT NULL CHECK (kind IN ('file-edited', 'daemon-not-reloaded', 'apply-failed', 'behind', 'offline')),
  began_at          TEXT NOT NULL,
  ended_at          TEXT,
  -- the latest classification while open (redacted JSON values and a sentence)
  expected          TEXT CHECK (expected IS NULL OR json_valid(expected)),
  actual            TEXT CHECK (actual IS NULL OR json_valid(actual)),
  detail            TEXT NOT NULL,
  desired_revision  INTEGER,
  applied_revision  INTEGER,
  updated_at        TEXT NOT NULL,
  CHECK (ended_at IS NULL OR ended_at >= began_at)
);

-- At most one open period per host, field and kind; also the lookup of a host's open periods.
CREATE UNIQUE INDEX drift_periods_open ON drift_periods(host_id, field, kind) WHERE ended_at IS NULL;
-- `fleetdock drift` reads only open periods: a small partial index however long the history grows.
CREATE INDEX drift_periods_open_since ON drift_periods(began_at) WHERE ended_at IS NULL;
-- A host's history.
CREATE INDEX drift_periods_host ON drift_periods(host_id, began_at);

-- The periodic sweep looks for hosts that went away a while ago: only disconnected ones are indexed.
CREATE INDEX hosts_disconnected_since ON hosts(last_seen_at) WHERE connected = 0;

-- Every operator action and host event, appended and never changed. Group and host are stored by name,
-- so an entry reads the same after the host or group is gone.
CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY,
  at             TEXT NOT NULL,
  actor          TEXT NOT NULL,                  -- operator token name, `host:NAME`, or `controller`
  action         TEXT NOT NULL,                  -- e.g. group.create, settings.set, host.drifted
  group_name     TEXT,
  host_name      TEXT,
  from_revision  INTEGER,
  to_revision    INTEGER,
  details        TEXT CHECK (details IS NULL OR json_valid(details))
);

CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_host ON audit_log(host_name, id) WHERE host_name IS NOT NULL;
CREATE INDEX audit_log_group ON audit_log(group_name, id) WHERE group_name IS NOT NULL;

-- An audit log that can be edited proves nothing: the database itself refuses.
CREATE TRIGGER audit_log_refuse_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_log_refuse_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted');
END;
