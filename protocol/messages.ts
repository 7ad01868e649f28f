/**
 * The WebSocket messages between agent and controller and the enrolment exchange over HTTP. Each is a
 * schema; `parseAgentMessage` / `parseControllerMessage` turn untrusted text into a typed message or a
 * FleetdockError naming what was wrong. Message types are an explicit allowlist per direction.
 */
import { z } from 'zod';
import { FleetdockError } from './errors.js';
import { HostFactsSchema, ObservedStateSchema } from './observed.js';
import { SettingsSchema } from './settings.js';

/** Largest message either side accepts, in bytes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const RevisionSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const ErrorBodySchema = z.strictObject({
  code: z.string().max(64),
  message: z.string().max(4096),
});

/** What the agent did to dockerd. */
export const ActionSchema = z.enum(['none', 'reload', 'restart']);
export type Action = z.infer<typeof ActionSchema>;

/** How an apply ended: `applied` (changed and verified), `unchanged`, `rolled-back`, `failed`. */
export const OutcomeSchema = z.enum(['applied', 'unchanged', 'rolled-back', 'failed']);
export type Outcome = z.infer<typeof OutcomeSchema>;

// ---- agent -> controller ----

/** First message on every connection: who the agent is (bound to its credential), what it sees. */
export const HelloSchema = z.strictObject({
  type: z.literal('hello'),
  protocolVersion: z.number().int(),
  facts: HostFactsSchema,
  /** The revision the host has applied, so the controller can tell whether it is behind. */
  appliedRevision: RevisionSchema.nullable(),
  observed: ObservedStateSchema.nullable(),
});

/** The result of applying one `desired` message. */
export const ApplyResultSchema = z.strictObject({
  type: z.literal('apply-result'),
  revision: RevisionSchema,
  outcome: OutcomeSchema,
  /** The action taken on dockerd (for `rolled-back`: the action of the attempt). */
  action: ActionSchema,
  /** Host paths written (relative to the agent's root). */
  filesChanged: z.array(z.string().max(1024)).max(64),
  /** What the running daemon was checked for and what it said. */
  verification: z.strictObject({ ok: z.boolean(), detail: z.string().max(4096) }).nullable(),
  error: ErrorBodySchema.nullable(),
  /** Wall time of the apply, in milliseconds. */
  durationMs: z.number().nonnegative(),
  /**
   * True when nothing was tried: the answer to a re-send (`desired.resend`) of a revision whose last
   * attempt failed on this host repeats that failure. Not a new attempt, so a rollout does not count it.
   */
  repeated: z.boolean().optional(),
  /**
   * The observed state read right after this apply (protocol 3): the report that otherwise follows
   * every result as its own `observed` message. Absent when the agent could not read it, or when the
   * controller is older than protocol 3.
   */
  observed: ObservedStateSchema.optional(),
});

/** The observed state, sent after every apply and whenever it changes. */
export const ObservedMessageSchema = z.strictObject({
  type: z.literal('observed'),
  observed: ObservedStateSchema,
});

/** An error about a message the agent received. */
export const AgentErrorSchema = z.strictObject({ type: z.literal('error'), ...ErrorBodySchema.shape });

export const AgentMessageSchema = z.discriminatedUnion('type', [HelloSchema, ApplyResultSchema, ObservedMessageSchema, AgentErrorSchema]);
export type AgentMessage = z.infer<typeof AgentMessageSchema>;
export type Hello = z.infer<typeof HelloSchema>;
export type ApplyResult = z.infer<typeof ApplyResultSchema>;

// ---- controller -> agent ----

/** Answer to hello: the identity the controller bound to this connection's credential. */
export const WelcomeSchema = z.strictObject({
  type: z.literal('welcome'),
  protocolVersion: z.number().int(),
  hostId: z.string().max(64),
  name: z.string().max(255),
  group: z.string().max(255),
});

/** The settings the host should have, as of one revision of its group. */
export const DesiredSchema = z.strictObject({
  type: z.literal('desired'),
  revision: RevisionSchema,
  settings: SettingsSchema,
  /**
   * True when this is the level-triggered re-send that follows every hello, not a request to try
   * again: an agent whose last attempt of this same revision and settings failed answers with that
   * failure instead of applying it a second time. Absent (older controllers) means false: rollouts,
   * a group's first revision and drift enforcement send without it, and those do retry.
   */
  resend: z.boolean().optional(),
});

/** An error about a message the controller received; `fatal` ones are followed by a close. */
export const ControllerErrorSchema = z.strictObject({ type: z.literal('error'), ...ErrorBodySchema.shape, fatal: z.boolean().default(false) });

export const ControllerMessageSchema = z.discriminatedUnion('type', [WelcomeSchema, DesiredSchema, ControllerErrorSchema]);
export type ControllerMessage = z.infer<typeof ControllerMessageSchema>;
export type Desired = z.infer<typeof DesiredSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;

// ---- enrolment over HTTP (POST /v1/enrol) ----

/** A host name as the fleet knows it. */
export const HostNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'host name must be 1-63 letters, digits, dots, dashes or underscores');

export const EnrolRequestSchema = z.strictObject({
  joinToken: z.string().min(1).max(256),
  name: HostNameSchema,
  facts: HostFactsSchema,
});
export type EnrolRequest = z.infer<typeof EnrolRequestSchema>;

export const EnrolResponseSchema = z.strictObject({
  hostId: z.string().max(64),
  name: z.string().max(255),
  group: z.string().max(255),
  /** The host's own secret, sent as `Authorization: Bearer` on the WebSocket from then on. */
  credential: z.string().max(256),
});
export type EnrolResponse = z.infer<typeof EnrolResponseSchema>;

// ---- parsing ----

/** Longest text one issue contributes to a message: a key or value can be as long as the message limit. */
const MAX_ISSUE_CHARS = 300;

/** Shortens `text` to `max` characters, marking the cut. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Formats the first schema issues as `path: message` lines. Each path segment and line is clipped, so
 * the result always fits the 4096-character `message` of the wire's error body (ErrorBodySchema).
 */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${clip(String(p), 64)}`)).join('').replace(/^\./, '');
      const where = [prefix, clip(path, 200)].filter(Boolean).join('.');
      return clip(where ? `${where}: ${issue.message}` : issue.message, MAX_ISSUE_CHARS);
    })
    .join('; ');
}

function parseJsonText(text: string | Buffer): unknown {
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  if (size > MAX_MESSAGE_BYTES) {
    throw new FleetdockError('MESSAGE_TOO_LARGE', `message of ${size} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  try {
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    throw new FleetdockError('BAD_JSON', 'message is not valid JSON');
  }
}

function parseWith<T>(schema: z.ZodType<T>, allowed: readonly string[], text: string | Buffer): T {
  const value = parseJsonText(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FleetdockError('BAD_MESSAGE', 'message must be a JSON object with a "type"');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !allowed.includes(type)) {
    // Never String(type): an array nested 10,000 deep overflows the stack in Array.prototype.join.
    const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 64)) : Array.isArray(type) ? 'array' : type === null ? 'null' : typeof type;
    throw new FleetdockError('UNKNOWN_MESSAGE_TYPE', `unknown message type ${shown}; expected one of ${allowed.join(', ')}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new FleetdockError('BAD_MESSAGE', `bad ${type} message: ${describeIssues(result.error)}`);
  }
  return result.data;
}

export const AGENT_MESSAGE_TYPES = ['hello', 'apply-result', 'observed', 'error'] as const;
export const CONTROLLER_MESSAGE_TYPES = ['welcome', 'desired', 'error'] as const;

/** Parses a message an agent sent; throws FleetdockError (BAD_JSON, BAD_MESSAGE, UNKNOWN_MESSAGE_TYPE, MESSAGE_TOO_LARGE). */
export function parseAgentMessage(text: string | Buffer): AgentMessage {
  return parseWith(AgentMessageSchema, AGENT_MESSAGE_TYPES, text);
}

/** Parses a message the controller sent; throws like parseAgentMessage. */
export function parseControllerMessage(text: string | Buffer): ControllerMessage {
  return parseWith(ControllerMessageSchema, CONTROLLER_MESSAGE_TYPES, text);
}

/** WebSocket close codes the controller uses; the agent stops for good on REVOKED. */
export const CLOSE_CODES = Object.freeze({
  /** The agent broke the protocol (wrong version, no hello first). */
  PROTOCOL: 4400,
  /** A newer connection with the same credential took over. */
  SESSION_REPLACED: 4409,
  /** An operator revoked the host: its credential no longer works. */
  REVOKED: 4401,
  /** The controller is shutting down. */
  GOING_AWAY: 1001,
});
