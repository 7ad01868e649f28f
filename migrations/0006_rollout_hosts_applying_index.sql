-- Rollout hosts by state: only the applying ones are ever looked up by state.
--
-- `rollout_hosts_state (state, rollout_id)` indexed every row of every rollout in every state, though
-- the only lookups by state are for `applying` (the rollouts still waiting for results, on every
-- engine tick). So each rollout host paid for three index writes it never needed (pending on insert,
-- pending → applying on start, applying → succeeded on its result): at 10,000 hosts in one batch that
-- was most of the cost of starting a rollout. A partial index holds only the hosts applying right now:
-- entries are added when hosts start and removed when their results come in, and it stays small
-- however many rollouts the table keeps.
DROP INDEX rollout_hosts_state;
CREATE INDEX rollout_hosts_applying ON rollout_hosts(rollout_id) WHERE state = 'applying';
