// known_hosts as OpenSSH reads it. Keys, fingerprints and hashed lines below were made by OpenSSH 9.2
// (`ssh-keygen -t ed25519`, `ssh-keygen -lf`, `ssh-keygen -H`), so these tests compare with ssh itself.
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  checkHostKeyFingerprint,
  describeHostKeyRefusal,
  entryMatchesHost,
  fingerprintSha256,
  keyTypeOfBlob,
  knownHostName,
  orderHostKeyAlgorithms,
  parseFingerprint,
  parseKnownHosts,
  renderKnownHostsLine,
  hashKnownHostName,
  shouldHashKnownHostNames,
} from './known-hosts.js';

const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEzPmeJGt5SOxxSLk5FOFemagmU/pvdHZWLEmMDOL1jf';
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINWZ2BbrOrhwRdl/KYurNJCizWtQmfDBbm8usEJiARzf';
const K3 = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJBaQtuBdt9N5zKgV/Ij01GvxR9sVf70dGEqU0dG/4ObInbzWgZ8Mm4rRsjngiZ1qMWVeZZtRQjPOWzIvEIfbP4=';
const FP1 = 'SHA256:u1PBxucz5pvUbap2gmG9N2Ux6NJPoPRAbNXJxXilkfE';
const FP2 = 'SHA256:+iubTc0saNHDQoEddF/6J6OGwyh+eBLax22UlcaU9ng';
const FP3 = 'SHA256:dOM4mzagLH3XtmjpjaFasGtTUMn/4mx6/dGuD03pEB4';
/** `ssh-keygen -H` of `[bs1.example.com]:2222 K1` and `bs2.example.com K2`. */
const HASHED_BS1_2222 = `|1|qyhHiS/fuRmnrVCBmzmPunlFK18=|MYG82ParaMPHIbXu1KJ9wZ3Do1U= ${K1}`;
const HASHED_BS2 = `|1|1zQc6wcXtc3k2PVfHTgf2MyFfPs=|yB3ocLPuDL4QwL32HpBLb0Ga4ys= ${K2}`;

const blob = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64');

describe('fingerprints', () => {
  it.each([
    [K1, FP1],
    [K2, FP2],
    [K3, FP3],
  ])('%s is %s, as ssh-keygen -lf prints it', (key, fingerprint) => {
    expect(fingerprintSha256(blob(key))).toBe(fingerprint);
  });

  it('reads the key type from the blob', () => {
    expect(keyTypeOfBlob(blob(K1))).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(blob(K3))).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 200, 1]))).toBeNull();
  });

  it.each([
    [FP1, FP1],
    [` ${FP2}= `, FP2],
  ])('takes a typed fingerprint %j', (text, expected) => {
    expect(parseFingerprint(text)).toBe(expected);
  });

  it.each(['MD5:12:34', 'SHA256:short', 'u1PBxucz5pvUbap2gmG9N2Ux6NJPoPRAbNXJxXilkfE', ''])('refuses %j', (text) => {
    expect(() => parseFingerprint(text)).toThrow(/SHA256:<43 base64 characters>/);
  });
});

describe('which entries name a host', () => {
  const known = parseKnownHosts(
    [
      '# comment',
      `bs1.example.com,10.0.0.5 ${K1}`,
      `[bs1.example.com]:2222 ${K2}`,
      `*.ci.example.com,!bad.ci.example.com ${K3}`,
      HASHED_BS1_2222,
      HASHED_BS2,
    ].join('\n'),
  );
  const lines = (host: string, port: number) => known.entries.filter((e) => entryMatchesHost(e, host, port)).map((e) => e.line);

  it.each([
    ['bs1.example.com', 22, [2]],
    ['BS1.example.com', 22, [2]],
    ['10.0.0.5', 22, [2]],
    ['bs1.example.com', 2222, [3, 5]],
    ['b7.ci.example.com', 22, [4]],
    ['bad.ci.example.com', 22, []],
    ['bs2.example.com', 22, [6]],
    ['bs2.example.com', 2222, []],
    ['unknown.example.com', 22, []],
  ])('%s port %i: lines %j', (host, port, expected) => {
    expect(lines(host, port)).toEqual(expected);
  });

  it('names a host on port 22 bare and others as [host]:port', () => {
    expect(knownHostName('BS1', 22)).toBe('bs1');
    expect(knownHostName('bs1', 2222)).toBe('[bs1]:2222');
  });
});

describe('checkHostKey', () => {
  const known = parseKnownHosts([`[bs1.example.com]:2222 ${K1}`, HASHED_BS2, `@revoked * ${K3}`, `bs4 ${K1}`, `bs4 ${K3}`].join('\n'));

  it.each([
    ['the listed key', 'bs1.example.com', 2222, K1, { status: 'known', fingerprint: FP1 }],
    ['a hashed entry', 'bs2.example.com', 22, K2, { status: 'known', fingerprint: FP2 }],
    ['another key for a listed host', 'bs1.example.com', 2222, K2, { status: 'changed', fingerprint: FP2, expected: [FP1] }],
    ['another key for a hashed host', 'bs2.example.com', 22, K1, { status: 'changed', fingerprint: FP1, expected: [FP2] }],
    ['a host not listed', 'bs9.example.com', 22, K1, { status: 'unknown', fingerprint: FP1 }],
    ['the same host on another port', 'bs1.example.com', 22, K1, { status: 'unknown', fingerprint: FP1 }],
    ['a revoked key, wherever', 'bs4', 22, K3, { status: 'revoked', fingerprint: FP3, line: 3 }],
  ])('%s', (_what, host, port, key, verdict) => {
    expect(checkHostKey(known, host, port, blob(key))).toEqual(verdict);
  });

  it('refuses unknown keys unless accept-new, and changed and revoked keys always', () => {
    const unknown = checkHostKey(known, 'new', 22, blob(K2));
    expect(describeHostKeyRefusal(unknown, false)).toMatch(/^unknown \(SHA256:.* is not in known_hosts/);
    expect(describeHostKeyRefusal(unknown, true)).toBeNull();
    const changed = checkHostKey(known, 'bs1.example.com', 2222, blob(K2));
    expect(describeHostKeyRefusal(changed, true)).toBe(`changed (expected ${FP1}, got ${FP2})`);
    expect(describeHostKeyRefusal(checkHostKey(known, 'bs4', 22, blob(K3)), true)).toMatch(/^revoked/);
    expect(describeHostKeyRefusal(checkHostKey(known, 'bs1.example.com', 2222, blob(K1)), false)).toBeNull();
  });

  it('checks a given fingerprint instead of known_hosts', () => {
    expect(checkHostKeyFingerprint(FP1, blob(K1)).status).toBe('known');
    expect(describeHostKeyRefusal(checkHostKeyFingerprint(FP2, blob(K1)), true)).toBe(`changed (expected ${FP2}, got ${FP1})`);
  });
});

describe('parseKnownHosts skips what it cannot read, as ssh does', () => {
  it.each([
    ['bs1 ssh-ed25519', /expected/],
    ['bs1 ssh-ed25519 not-base64!', /not base64/],
    [`bs1 ssh-rsa ${K1.split(' ')[1]}`, /the key says ssh-ed25519, the line says ssh-rsa/],
    [`|1|abc|def ${K1}`, /malformed hashed/],
    [`@weird bs1 ${K1}`, /unknown marker/],
  ])('%j', (line, reason) => {
    const parsed = parseKnownHosts(`${line}\nbs2 ${K2}\n`);
    expect(parsed.entries.map((e) => e.line)).toEqual([2]);
    expect(parsed.skipped).toEqual([{ line: 1, reason: expect.stringMatching(reason) }]);
  });
});

describe('accept-new and algorithm order', () => {
  it('renders the appended line so that it is read back as known', () => {
    const line = renderKnownHostsLine('10.1.2.3', 2200, blob(K1));
    expect(line).toBe(`[10.1.2.3]:2200 ${K1}\n`);
    expect(checkHostKey(parseKnownHosts(line), '10.1.2.3', 2200, blob(K1)).status).toBe('known');
  });

  it('hashes a name as ssh-keygen -H does', () => {
    const [name1] = HASHED_BS1_2222.split(' ');
    const [name2] = HASHED_BS2.split(' ');
    expect(hashKnownHostName('[bs1.example.com]:2222', Buffer.from(name1!.split('|')[2]!, 'base64'))).toBe(name1);
    expect(hashKnownHostName('bs2.example.com', Buffer.from(name2!.split('|')[2]!, 'base64'))).toBe(name2);
    expect(() => hashKnownHostName('bs2.example.com', Buffer.alloc(8))).toThrow(/20 bytes/);
  });

  it('renders a hashed line that is read back as known for that host only', () => {
    const line = renderKnownHostsLine('10.1.2.3', 2200, blob(K1), Buffer.alloc(20, 7));
    expect(line).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 AAAA\S+\n$/);
    expect(line).not.toContain('10.1.2.3');
    expect(checkHostKey(parseKnownHosts(line), '10.1.2.3', 2200, blob(K1)).status).toBe('known');
    expect(checkHostKey(parseKnownHosts(line), '10.1.2.3', 22, blob(K1)).status).toBe('unknown');
  });

  it.each<[string, string, boolean]>([
    ['an empty file', '', true],
    ['a file of plain names', `bs1 ${K1}\n[bs2]:2222 ${K2}\n`, false],
    ['a file of hashed names', `${HASHED_BS2}\n`, true],
    ['a file with both', `bs1 ${K1}\n${HASHED_BS2}\n`, true],
  ])('accept-new hashes names in %s: %s', (_what, text, hashed) => {
    expect(shouldHashKnownHostNames(parseKnownHosts(text))).toBe(hashed);
  });

  it('offers the known key types first', () => {
    expect(orderHostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
    expect(orderHostKeyAlgorithms(['ssh-rsa']).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    const ecdsaFirst = orderHostKeyAlgorithms(['ecdsa-sha2-nistp256']);
    expect(ecdsaFirst[0]).toBe('ecdsa-sha2-nistp256');
    expect(new Set(ecdsaFirst).size).toBe(ecdsaFirst.length);
    expect(ecdsaFirst).toContain('ssh-ed25519');
  });
});
