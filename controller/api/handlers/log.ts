/** GET /v1/log: the audit log, filtered by host, group and time, newest entries last. */
import type { Handler } from '../context.js';
import { LogQuerySchema } from '../drift-schemas.js';
import { parseInput } from '../validate.js';

/** `{ entries, truncated }`: the newest `limit` (default 100) matching entries, oldest first. */
export const getLog: Handler = ({ query, deps }) => {
  const filter = parseInput(LogQuerySchema, query ?? {}, 'query');
  return { status: 200, body: deps.store.audit.list(filter) };
};
