-- Indexes for reading drift at fleet scale.
--
-- Hosts with open tamper drift (a hand-edited file, a daemon not reloaded) are looked up for every
-- host in the fleet summary (`fleetdock hosts`, `fleetdock drift`): without this index each lookup read
-- every drift period the host ever had (90 ms for 10,000 hosts with 31,000 periods; 30 ms with it).
CREATE INDEX drift_periods_open_tamper ON drift_periods(host_id)
  WHERE ended_at IS NULL AND kind IN ('file-edited', 'daemon-not-reloaded');

-- `fleetdock drift --history` lists the periods that began last (ORDER BY began_at DESC, id DESC
-- LIMIT n): with this index SQLite walks it backwards and stops after n rows, instead of sorting every
-- period ever recorded (the table is never pruned) on the controller's event loop.
CREATE INDEX drift_periods_began ON drift_periods(began_at, id);
