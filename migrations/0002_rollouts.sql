-- 0002_rollouts: staged rollouts. A group has a current revision (what the group as a whole should be
-- on); a host may have its own desired revision while a rollout moves it (NULL: follow the group's
-- current revision). A rollout and its per-host rows hold everything the engine needs to resume after
-- a crash: which hosts it started, when, and how each ended.

-- The revision the group as a whole should be on; NULL until the group's first revision.
ALTER TABLE groups ADD COLUMN current_revision INTEGER CHECK (current_revision IS NULL OR current_revision >= 1);

-- The revision this host should be on right now; NULL means "the group's current revision".
ALTER TABLE hosts ADD COLUMN desired_revision INTEGER CHECK (desired_revision IS NULL OR desired_revision >= 1);

-- Before this migration every host was sent its group's latest revision at once: keep that meaning for
-- the data that exists.
UPDATE groups SET current_revision = (SELECT MAX(r.number) FROM revisions r WHERE r.group_id = groups.id);

CREATE TABLE rollouts (
  id             INTEGER PRIMARY KEY,
  group_id       INTEGER NOT NULL REFERENCES groups(id),
  -- `rollout` (operator asked for a target) or `undo` (back to an earlier revision)
  kind           TEXT NOT NULL CHECK (kind IN ('rollout', 'undo')),
  from_revision  INTEGER NOT NULL CHECK (from_revision >= 1),
  to_revision    INTEGER NOT NULL CHECK (to_revision >= 1),
  -- the strategy as asked for, defaults filled in (counts or "N%")
  strategy       TEXT NOT NULL CHECK (json_valid(strategy)),
  state          TEXT NOT NULL CHECK (state IN ('running', 'paused', 'halted', 'aborted', 'completed', 'rolling-back', 'rolled-back')),
  reason         TEXT,
  -- the batch whose hosts may be started now
  current_batch  INTEGER NOT NULL DEFAULT 0 CHECK (current_batch >= 0),
  created_at     TEXT NOT NULL,
  created_by     TEXT,
  updated_at     TEXT NOT NULL,
  -- when the failure budget was spent (rolling-back counts its wait from here)
  halted_at      TEXT,
  finished_at    TEXT
);

CREATE INDEX rollouts_group ON rollouts(group_id, id);
-- At most one rollout per group moves hosts at a time; the database refuses a second one.
CREATE UNIQUE INDEX rollouts_one_active ON rollouts(group_id) WHERE state IN ('running', 'paused', 'rolling-back');

CREATE TABLE rollout_hosts (
  rollout_id     INTEGER NOT NULL REFERENCES rollouts(id),
  host_id        TEXT NOT NULL REFERENCES hosts(id),
  batch          INTEGER NOT NULL CHECK (batch >= 0),
  -- position inside the batch: hosts start in this order
  position       INTEGER NOT NULL CHECK (position >= 0),
  state          TEXT NOT NULL CHECK (state IN ('pending', 'applying', 'succeeded', 'failed', 'offline', 'skipped', 'rolled-back')),
  -- 1 once a halt with onHalt=rollback set the host back to the group's current revision
  reverted       INTEGER NOT NULL DEFAULT 0 CHECK (reverted IN (0, 1)),
  -- the host's result for the target revision
  outcome        TEXT CHECK (outcome IS NULL OR outcome IN ('applied', 'unchanged', 'rolled-back', 'failed')),
  action         TEXT CHECK (action IS NULL OR action IN ('none', 'reload', 'restart')),
  error_code     TEXT,
  error_message  TEXT,
  started_at     TEXT,
  finished_at    TEXT,
  PRIMARY KEY (rollout_id, host_id)
) WITHOUT ROWID;

CREATE INDEX rollout_hosts_state ON rollout_hosts(state, rollout_id);
CREATE INDEX rollout_hosts_host ON rollout_hosts(host_id);
