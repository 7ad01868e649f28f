// The host key decision of one run on a real known_hosts file: known, unknown, accept-new appending
// (once, and a second key for the same host in the same run is then a changed key; hashed names in a
// new file, as OpenSSH's HashKnownHosts, checked with OpenSSH's ssh-keygen), fingerprints.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadHostKeyPolicy } from '../../bootstrap/host-key-policy.js';
import { fingerprintSha256 } from '../../bootstrap/known-hosts.js';

const { utils } = ssh2;
const publicLine = () => utils.generateKeyPairSync('ed25519').public.trim().split(' ').slice(0, 2).join(' ');
const blobOf = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64');
const target = (port: number, fingerprint: string | null = null) => ({ host: '10.0.0.7', port, fingerprint });

describe('loadHostKeyPolicy', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetdock-known-hosts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts known keys, refuses unknown ones without accept-new, and a missing file is empty', async () => {
    const key = publicLine();
    const path = join(dir, 'known_hosts');
    writeFileSync(path, `[10.0.0.7]:2222 ${key}`);
    const policy = await loadHostKeyPolicy(path, false);
    expect(await policy.verify(target(2222), blobOf(key))).toBeNull();
    expect(await policy.verify(target(2223), blobOf(key))).toMatch(/^unknown \(SHA256:/);
    expect(policy.algorithmsFor(target(2222))[0]).toBe('ssh-ed25519');
    const none = await loadHostKeyPolicy(join(dir, 'missing', 'known_hosts'), false);
    expect(await none.verify(target(22), blobOf(key))).toMatch(/^unknown/);
  });

  it('accept-new appends each new host once (to a file without a final newline too); a second key for it is changed', async () => {
    const path = join(dir, 'known_hosts');
    const old = publicLine();
    writeFileSync(path, `other ${old}`);
    const policy = await loadHostKeyPolicy(path, true);
    const first = publicLine();
    const second = publicLine();
    const [a, b] = await Promise.all([policy.verify(target(2200), blobOf(first)), policy.verify(target(2200), blobOf(second))]);
    expect(a).toBeNull();
    expect(b).toBe(`changed (expected ${fingerprintSha256(blobOf(first))}, got ${fingerprintSha256(blobOf(second))})`);
    expect(await policy.verify(target(2200), blobOf(first))).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe(`other ${old}\n[10.0.0.7]:2200 ${first}\n`);
    // A new run reads it back as known.
    expect(await (await loadHostKeyPolicy(path, false)).verify(target(2200), blobOf(first))).toBeNull();
  });

  it('accept-new hashes the names it adds to a new known_hosts, and OpenSSH finds them', async () => {
    const path = join(dir, 'ssh', 'known_hosts');
    const policy = await loadHostKeyPolicy(path, true);
    const key = publicLine();
    expect(await policy.verify(target(2200), blobOf(key))).toBeNull();
    const text = readFileSync(path, 'utf8');
    const [name, ...rest] = text.trimEnd().split(' ');
    expect(name).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28}$/);
    expect(rest.join(' ')).toBe(key);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('10.0.0.7');
    // OpenSSH's own lookup of the hashed name: `ssh-keygen -F` prints the line it matched.
    const found = execFileSync('ssh-keygen', ['-F', '[10.0.0.7]:2200', '-f', path], { encoding: 'utf8' });
    expect(found).toContain(key);
    expect(await (await loadHostKeyPolicy(path, false)).verify(target(2200), blobOf(key))).toBeNull();
  });

  it('a fingerprint replaces known_hosts for its host', async () => {
    const key = publicLine();
    const path = join(dir, 'known_hosts');
    writeFileSync(path, `[10.0.0.7]:22 ${publicLine()}\n`);
    const policy = await loadHostKeyPolicy(path, true);
    expect(await policy.verify(target(22, fingerprintSha256(blobOf(key))), blobOf(key))).toBeNull();
    expect(await policy.verify(target(22, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), blobOf(key))).toMatch(/^changed \(expected SHA256:AAAA/);
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });
});
