/**
 * The protocol's one integer version and its dated history. Both sides send it; a peer whose version
 * is not in SUPPORTED_PROTOCOL_VERSIONS is refused with PROTOCOL_VERSION. Must not import controller/ or agent/.
 */

/** The version this build speaks. */
export const PROTOCOL_VERSION = 3;

/** Versions this build accepts from a peer. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2, 3];

/** First version whose agents take `desired.resend` (and may answer with `apply-result.repeated`). */
export const RESEND_SINCE_PROTOCOL_VERSION = 2;

/**
 * First version whose controllers take `apply-result.observed` (the observed state read right after
 * the apply, in the same message): an agent sends it only when the controller's `welcome` says so.
 */
export const OBSERVED_IN_RESULT_SINCE_PROTOCOL_VERSION = 3;

/**
 * History (newest last):
 * - 1 (2026-11-28): hello / desired / apply-result / observed / welcome / error; enrolment over HTTP.
 * - 2 (2026-11-28): `desired.resend` (the re-send after a hello; sent only to agents of version 2 or
 *   later) and `apply-result.repeated` (an agent's answer that repeats a failure without trying).
 * - 3 (2026-11-28): `apply-result.observed`: the report after an apply travels with its result, one
 *   message and one row write per host instead of two (sent only to controllers of version 3 or later).
 */
export const PROTOCOL_HISTORY = Object.freeze([
  { version: 1, date: '2026-11-28' },
  { version: 2, date: '2026-11-28' },
  { version: 3, date: '2026-11-28' },
]);

/** Version of the fleetdock code itself, reported by agents in hello. */
export const AGENT_VERSION = '0.1.0';
