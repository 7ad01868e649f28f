/**
 * The host key decision for every host of one run: reads known_hosts once, checks each presented key
 * (or against the fingerprint the inventory gives), and with accept-new appends an unknown host's key
 * to known_hosts, one append at a time, as `ssh -o StrictHostKeyChecking=accept-new` does. A changed
 * or revoked key is always refused. The only file I/O on known_hosts; the rules are in known-hosts.ts.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  checkHostKey,
  checkHostKeyFingerprint,
  describeHostKeyRefusal,
  entriesForHost,
  orderHostKeyAlgorithms,
  parseKnownHosts,
  renderKnownHostsLine,
  shouldHashKnownHostNames,
  type KnownHosts,
} from './known-hosts.js';

/** What a host is checked against. */
export interface HostKeyTarget {
  host: string;
  port: number;
  /** `SHA256:...` to accept instead of known_hosts, or null. */
  fingerprint: string | null;
}

/** The host key checks of one run. */
export interface HostKeyPolicy {
  /** Host key algorithms to offer this host (its known key types first). */
  algorithmsFor(target: HostKeyTarget): string[];
  /** Null to accept the key (recording it when new and accepted), else why it is refused. */
  verify(target: HostKeyTarget, blob: Buffer): Promise<string | null>;
}

/** Reads `knownHostsPath` (a missing file is empty) and returns the policy. */
export async function loadHostKeyPolicy(knownHostsPath: string, acceptNew: boolean): Promise<HostKeyPolicy> {
  let text = '';
  try {
    text = await readFile(knownHostsPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read ${knownHostsPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const known: KnownHosts = parseKnownHosts(text);
  const hashNames = shouldHashKnownHostNames(known); // decided on the file as it was: our own appends do not change it
  let appends: Promise<void> = Promise.resolve();
  return {
    algorithmsFor(target) {
      if (target.fingerprint !== null) return orderHostKeyAlgorithms([]);
      return orderHostKeyAlgorithms(entriesForHost(known, target.host, target.port).filter((e) => e.marker === null).map((e) => e.keyType));
    },
    async verify(target, blob) {
      if (target.fingerprint !== null) return describeHostKeyRefusal(checkHostKeyFingerprint(target.fingerprint, blob), false);
      const verdict = checkHostKey(known, target.host, target.port, blob);
      const refusal = describeHostKeyRefusal(verdict, acceptNew);
      if (refusal !== null || verdict.status !== 'unknown') return refusal;
      const line = renderKnownHostsLine(target.host, target.port, blob, hashNames ? randomBytes(20) : null);
      // Another target for the same host:port in this run now finds it known.
      known.entries.push(...parseKnownHosts(line).entries);
      appends = appends.then(async () => {
        await mkdir(dirname(knownHostsPath), { recursive: true, mode: 0o700 });
        const needsNewline = text !== '' && !text.endsWith('\n');
        await appendFile(knownHostsPath, `${needsNewline ? '\n' : ''}${line}`, { mode: 0o600 });
        text = `${text}${needsNewline ? '\n' : ''}${line}`;
      });
      try {
        await appends;
      } catch (error) {
        return `accepted, but cannot add it to ${knownHostsPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      }
      return null;
    },
  };
}
