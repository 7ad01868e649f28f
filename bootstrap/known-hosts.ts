/**
 * Pure: OpenSSH's known_hosts, read the way `ssh` reads it. Parses the file (plain, wildcard and
 * negated patterns, `[host]:port` names, hashed `|1|salt|hash` names, `@revoked` lines; bad lines are
 * skipped and counted, as ssh does), decides whether a presented host key is known, unknown, changed
 * or revoked, formats fingerprints as `ssh-keygen -lf` does (`SHA256:` + unpadded base64), renders
 * the line `accept-new` appends (its name hashed, as OpenSSH's HashKnownHosts does, unless the file names
 * every host in clear), and orders host key algorithms so the known key's type is negotiated
 * first (as ssh does). Reads and writes no file.
 */
import { createHash, createHmac } from 'node:crypto';

/** One usable line of known_hosts. */
export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  /** `@revoked` marks a key that must be refused; `@cert-authority` lines are kept but never match a plain key. */
  marker: 'revoked' | 'cert-authority' | null;
  /** Comma-separated patterns (`bs1,10.0.0.5,[bs2]:2222,*.ci.example.com,!bad.ci.example.com`), or null when hashed. */
  patterns: string[] | null;
  /** A hashed name (`|1|salt|hash`): HMAC-SHA1 of the name keyed with the salt. */
  hashed: { salt: Buffer; hash: Buffer } | null;
  /** Key type as written (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`). */
  keyType: string;
  /** The public key blob. */
  key: Buffer;
}

/** A parsed known_hosts file. */
export interface KnownHosts {
  entries: KnownHostEntry[];
  /** Lines that could not be read (ssh skips them too). */
  skipped: { line: number; reason: string }[];
}

/** Parses known_hosts text. Never throws: unreadable lines land in `skipped`. */
export function parseKnownHosts(text: string): KnownHosts {
  const entries: KnownHostEntry[] = [];
  const skipped: { line: number; reason: string }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else {
        skipped.push({ line, reason: `unknown marker ${m}` });
        return;
      }
    }
    const [names, keyType, keyBase64] = fields;
    if (names === undefined || keyType === undefined || keyBase64 === undefined) {
      skipped.push({ line, reason: 'expected: names key-type base64-key' });
      return;
    }
    const key = decodeBase64Strict(keyBase64);
    if (key === null || key.length < 8) {
      skipped.push({ line, reason: 'the key is not base64' });
      return;
    }
    const blobType = keyTypeOfBlob(key);
    if (blobType !== keyType) {
      skipped.push({ line, reason: `the key says ${blobType ?? 'nothing readable'}, the line says ${keyType}` });
      return;
    }
    if (names.startsWith('|1|')) {
      const [, , saltText, hashText] = names.split('|');
      const salt = decodeBase64Strict(saltText ?? '');
      const hash = decodeBase64Strict(hashText ?? '');
      if (salt === null || hash === null || hash.length !== 20) {
        skipped.push({ line, reason: 'malformed hashed host name' });
        return;
      }
      entries.push({ line, marker, patterns: null, hashed: { salt, hash }, keyType, key });
      return;
    }
    entries.push({ line, marker, patterns: names.split(',').filter((p) => p !== ''), hashed: null, keyType, key });
  });
  return { entries, skipped };
}

function decodeBase64Strict(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise (lower-cased). */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Whether `name` matches an OpenSSH wildcard pattern (`*`, `?`), case-insensitively. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.toLowerCase().replace(/[.+^${}()|\\]/g, '\\$&').replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

/** Whether an entry names `host` on `port` (hashed, negated and wildcard names included). */
export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  if (entry.hashed) {
    const digest = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return digest.equals(entry.hashed.hash);
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    const negated = pattern.startsWith('!');
    if (globMatch(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** The key type a public key blob declares (its first SSH string), or null when unreadable. */
export function keyTypeOfBlob(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length < 1 || length > 64 || 4 + length > blob.length) return null;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[a-z0-9@._-]+$/.test(type) ? type : null;
}

/** `SHA256:` and the unpadded base64 sha256 of the key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Checks a fingerprint the operator typed (`SHA256:` + 43 base64 characters); returns it normalised. */
export function parseFingerprint(text: string): string {
  const trimmed = text.trim();
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(trimmed);
  if (!m) throw new Error(`fingerprint ${JSON.stringify(trimmed)} is not SHA256:<43 base64 characters> as \`ssh-keygen -lf\` prints it`);
  return `SHA256:${m[1]}`;
}

/** What the known keys say about a presented host key. */
export type HostKeyVerdict =
  | { status: 'known'; fingerprint: string }
  | { status: 'unknown'; fingerprint: string }
  /** Another key of the same type is known for the host (or only keys of other types are). */
  | { status: 'changed'; fingerprint: string; expected: string[] }
  | { status: 'revoked'; fingerprint: string; line: number };

/** The known_hosts entries for `host`:`port`. */
export function entriesForHost(known: KnownHosts, host: string, port: number): KnownHostEntry[] {
  return known.entries.filter((e) => entryMatchesHost(e, host, port));
}

/**
 * Decides what a presented host key (`blob`) is for `host`:`port`, the way ssh does: a revoked key
 * is refused wherever it is listed; a key listed for the host is known; a host with other keys listed
 * has a changed key; a host with no entry is unknown.
 */
export function checkHostKey(known: KnownHosts, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const fingerprint = fingerprintSha256(blob);
  const revoked = known.entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) return { status: 'revoked', fingerprint, line: revoked.line };
  const forHost = entriesForHost(known, host, port).filter((e) => e.marker === null);
  if (forHost.some((e) => e.key.equals(blob))) return { status: 'known', fingerprint };
  if (forHost.length === 0) return { status: 'unknown', fingerprint };
  return { status: 'changed', fingerprint, expected: [...new Set(forHost.map((e) => fingerprintSha256(e.key)))] };
}

/** Checks a presented key against a fingerprint the operator gave. */
export function checkHostKeyFingerprint(expected: string, blob: Buffer): HostKeyVerdict {
  const fingerprint = fingerprintSha256(blob);
  return fingerprint === expected ? { status: 'known', fingerprint } : { status: 'changed', fingerprint, expected: [expected] };
}

/**
 * Whether `accept-new` should hash the name it appends: as OpenSSH does with `HashKnownHosts yes`
 * (Debian's and Ubuntu's default), so that the file does not list the hosts it knows; except in a
 * file whose lines all name their hosts in clear, which was written with hashing off and stays so.
 */
export function shouldHashKnownHostNames(known: KnownHosts): boolean {
  return known.entries.length === 0 || known.entries.some((e) => e.hashed !== null);
}

/** The hashed form of a known_hosts name: `|1|` base64(salt) `|` base64(HMAC-SHA1 of the name keyed with salt). */
export function hashKnownHostName(name: string, salt: Buffer): string {
  if (salt.length !== 20) throw new RangeError(`a known_hosts salt is 20 bytes (the SHA-1 size), not ${salt.length}`);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/**
 * The line `accept-new` appends for a host key: `NAME type base64`, NAME being `host` or
 * `[host]:port`, hashed with `salt` when one is given (20 random bytes: see shouldHashKnownHostNames).
 */
export function renderKnownHostsLine(host: string, port: number, blob: Buffer, salt: Buffer | null = null): string {
  const type = keyTypeOfBlob(blob);
  if (type === null) throw new Error('the host key blob declares no key type');
  const name = knownHostName(host, port);
  return `${salt === null ? name : hashKnownHostName(name, salt)} ${type} ${blob.toString('base64')}\n`;
}

/** The host key algorithms ssh2 supports, in its default order. */
export const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

/** The signature algorithms that prove a key of each type. */
function algorithmsForKeyType(type: string): string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return (HOST_KEY_ALGORITHMS as readonly string[]).includes(type) ? [type] : [];
}

/**
 * Host key algorithms to offer: those of the known keys' types first, then the rest, so a host with
 * an ed25519 and an RSA key, known by its RSA key, proves that one (ssh orders them the same way).
 */
export function orderHostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const first = knownTypes.flatMap(algorithmsForKeyType);
  return [...new Set([...first, ...HOST_KEY_ALGORITHMS])];
}

/** The one-line reason a verdict refuses a host, or null when it does not. */
export function describeHostKeyRefusal(verdict: HostKeyVerdict, acceptNew: boolean): string | null {
  switch (verdict.status) {
    case 'known':
      return null;
    case 'unknown':
      return acceptNew ? null : `unknown (${verdict.fingerprint} is not in known_hosts; check it and add it, or pass --accept-new-host-keys)`;
    case 'changed':
      return `changed (expected ${verdict.expected.join(' or ')}, got ${verdict.fingerprint})`;
    case 'revoked':
      return `revoked (${verdict.fingerprint} is marked @revoked in known_hosts line ${verdict.line})`;
  }
}
