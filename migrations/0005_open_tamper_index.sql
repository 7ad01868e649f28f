-- Hosts with open tamper drift (a hand-edited file, a daemon not reloaded) are looked up for every
-- host in the fleet summary (`fleetdock hosts`, `fleetdock drift`): without this index each lookup read
-- every drift period the host ever had (90 ms for 10,000 hosts with 31,000 periods; 30 ms with it).
CREATE INDEX drift_periods_open_tamper ON drift_periods(host_id)
  WHERE ended_at IS NULL AND kind IN ('file-edited', 'daemon-not-reloaded');
