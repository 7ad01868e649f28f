/**
 * The first steps bootstrap and uninstall share on a host: log in over SSH (host key checked first,
 * then the host's key, the command's key or the ssh-agent; a connection dropped before login is tried
 * again twice) and run the login probe, which decides whether root commands go through `sudo -n`.
 * Failures are HostStepErrors (`check`) or SshStepErrors (`host key`, `connect`, `auth`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostKeyPolicy } from './host-key-policy.js';
import { interpretLoginProbe, LOGIN_PROBE_SCRIPT, type Interpreted, type LoginFacts } from './host-facts.js';
import { HostStepError, tailOf } from './host-report.js';
import type { HostTarget } from './inventory.js';
import { openSshSession, SshStepError, type SshSession } from './ssh-session.js';

/**
 * Tries of a connection that was dropped before login (sshd's MaxStartups, a reset), waiting 0.5 s
 * more before each: about 5 s in all, which a busy sshd needs (once seen in CI under load: three
 * tries within 1.5 s all dropped).
 */
const CONNECT_ATTEMPTS = 5;
const RETRY_DELAY_MS = 500;

/** How to log in to hosts, for a whole run. */
export interface SshAccess {
  /** SSH agent socket, or null. */
  agentSocket: string | null;
  /** The command's --identity key, or null. */
  defaultKey: Buffer | null;
  /** The passphrase of encrypted keys (--identity-passphrase-file), if given. */
  passphrase?: string | undefined;
  /** Loads a host's own key (the inventory's `key:`). */
  loadKey(path: string): Promise<Buffer>;
  connectTimeoutMs: number;
  hostKeys: HostKeyPolicy;
}

/** A logged-in host and what the login probe found. */
export interface ConnectedHost {
  session: SshSession;
  login: Interpreted<LoginFacts>;
}

/**
 * Logs in to `target` and runs the login probe. `agentArch`: the agent binary's architecture for
 * the check (null: not checked). Does not fail on the probe's problems: the caller decides which matter.
 */
export async function connectHost(target: HostTarget, access: SshAccess, agentArch: string | null): Promise<ConnectedHost> {
  const key = target.keyPath !== null ? await access.loadKey(target.keyPath).catch((error: unknown) => {
    throw error instanceof SshStepError ? new HostStepError('auth', error.message) : error;
  }) : access.defaultKey;
  if (key === null && access.agentSocket === null) {
    throw new HostStepError('auth', 'no key to log in with: give --identity PATH (or key: in the inventory), or run an ssh-agent (SSH_AUTH_SOCK)');
  }
  const options = {
    host: target.host,
    port: target.port,
    user: target.user,
    privateKey: key,
    ...(access.passphrase !== undefined ? { passphrase: access.passphrase } : {}),
    agentSocket: access.agentSocket,
    verifyHostKey: (blob: Buffer) => access.hostKeys.verify(target, blob),
    hostKeyAlgorithms: access.hostKeys.algorithmsFor(target),
    connectTimeoutMs: access.connectTimeoutMs,
  };
  let session: SshSession | undefined;
  for (let attempt = 1; session === undefined; attempt++) {
    try {
      session = await openSshSession(options);
    } catch (error) {
      if (!(error instanceof SshStepError && error.retryable && attempt < CONNECT_ATTEMPTS)) throw error;
      await sleep(RETRY_DELAY_MS * attempt);
    }
  }
  try {
    const probe = await session.run(LOGIN_PROBE_SCRIPT, { timeoutMs: 30_000 });
    const login = interpretLoginProbe(probe.stdout, agentArch);
    if (probe.code !== 0 && login.problems.length === 0) {
      throw new HostStepError('check', `the login probe failed (exit ${probe.code})`, tailOf(probe.stderr));
    }
    session.useSudo = login.facts.needsSudo;
    return { session, login };
  } catch (error) {
    session.close();
    throw error instanceof HostStepError ? error : new HostStepError('check', (error as Error).message);
  }
}
