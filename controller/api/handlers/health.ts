/** GET /v1/health: the controller answers, and with which versions. Anonymous; touches nothing. */
import { AGENT_VERSION, PROTOCOL_VERSION } from '../../../protocol/version.js';
import type { Handler } from '../context.js';

/** Always 200 `{ ok: true, version, protocolVersion }` while the process serves requests. */
export const getHealth: Handler = () => ({ status: 200, body: { ok: true, version: AGENT_VERSION, protocolVersion: PROTOCOL_VERSION } });
