/**
 * The agent's state dir: its credential (after enrolment), what it applied and owns, and its last
 * failed attempt (plan/failed-attempt.ts). Written atomically, readable by root only. The credential is the host's identity; nothing else claims it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { MANAGED_DAEMON_KEYS } from './render/daemon-json.js';
import { NOTHING_OWNED, type OwnedState } from './plan/apply-plan.js';
import { FailedAttemptSchema } from './plan/failed-attempt.js';
import { readTextOrNull, writeFileAtomic } from './io/files.js';

const CredentialSchema = z.object({
  controller: z.string(),
  hostId: z.string(),
  name: z.string(),
  group: z.string(),
  credential: z.string(),
  /** The controller's CA (PEM) checked at enrolment, the only one trusted afterwards; null: plain HTTP or system roots. */
  ca: z.string().nullable().default(null),
});
export type StoredCredential = z.infer<typeof CredentialSchema>;

const StateSchema = z.object({
  appliedRevision: z.number().int().nullable(),
  owned: z.object({
    daemonJsonKeys: z.array(z.enum(MANAGED_DAEMON_KEYS)),
    dropIn: z.boolean(),
    clientUsers: z.array(z.string()),
  }),
  /** sha256 of each file as fleetdock last wrote it (host path → hash; null = fleetdock removed it). */
  written: z.record(z.string(), z.string().nullable()),
  /**
   * The last apply that ended `rolled-back` or `failed`, until an apply succeeds: a re-send of it after
   * a reconnect is not tried again. Absent in state files from before it existed; one that cannot be
   * read (a newer format, a bad hand edit) is dropped: at worst one more attempt, never an agent that
   * does not start.
   */
  lastFailure: FailedAttemptSchema.nullable().default(null).catch(null),
});
export type AgentState = z.infer<typeof StateSchema>;

export const INITIAL_STATE: AgentState = Object.freeze({ appliedRevision: null, owned: NOTHING_OWNED as OwnedState, written: {}, lastFailure: null }) as AgentState;

/** sha256 hex of a text (null for a missing file). */
export function sha256OrNull(text: string | null): string | null {
  return text === null ? null : createHash('sha256').update(text).digest('hex');
}

async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | null> {
  const text = await readTextOrNull(path);
  if (text === null) return null;
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is corrupt (${parsed.error.issues[0]?.message}); move it away to start afresh`);
  return parsed.data;
}

/** Loads the stored credential, or null before enrolment. */
export function loadCredential(stateDir: string): Promise<StoredCredential | null> {
  return readJson(join(stateDir, 'credential.json'), CredentialSchema);
}

/** Stores the credential (mode 0600). */
export function saveCredential(stateDir: string, credential: StoredCredential): Promise<void> {
  return writeFileAtomic(join(stateDir, 'credential.json'), `${JSON.stringify(credential, null, 2)}\n`, { mode: 0o600, dirMode: 0o700 });
}

/** Loads what the agent applied and owns. */
export async function loadState(stateDir: string): Promise<AgentState> {
  return (await readJson(join(stateDir, 'state.json'), StateSchema)) ?? structuredClone(INITIAL_STATE);
}

/** Stores what the agent applied and owns, and its last failed attempt. */
export function saveState(stateDir: string, state: AgentState): Promise<void> {
  return writeFileAtomic(join(stateDir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, dirMode: 0o700 });
}

/** Keeps the previous version of a file fleetdock replaces, under `backups/` in the state dir. */
export function backupPath(stateDir: string, hostPath: string): string {
  return join(stateDir, 'backups', hostPath.replace(/^\/+/, '').replace(/\//g, '__'));
}
