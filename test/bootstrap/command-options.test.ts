// The SSH access a bootstrap or uninstall run prepares from its options, on real files: an encrypted
// key (encrypted by OpenSSH's ssh-keygen) with its passphrase from a file, and the passphrase file's
// own checks (others may not read it; it may not be empty).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareSshAccess, readPassphraseFile } from '../../bootstrap/command-options.js';

let dir: string;
let keyFile: string;
let passFile: string;
const env = () => ({ HOME: dir }) as NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetdock-options-'));
  keyFile = join(dir, 'id_ed25519');
  writeFileSync(keyFile, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'right horse', '-f', keyFile]);
  passFile = join(dir, 'passphrase');
  writeFileSync(passFile, 'right horse\n', { mode: 0o600 });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('prepareSshAccess', () => {
  it('opens an encrypted --identity with the passphrase from --identity-passphrase-file, for every key of the run', async () => {
    const access = await prepareSshAccess({ identity: keyFile, 'identity-passphrase-file': passFile, 'known-hosts': join(dir, 'known_hosts') }, env());
    expect(access.passphrase).toBe('right horse');
    expect(access.defaultKey).not.toBeNull();
    await expect(access.loadKey(keyFile)).resolves.toBeInstanceOf(Buffer); // an inventory's key: too
  });

  it('refuses an encrypted key without its passphrase, and with a wrong one, before any host is tried', async () => {
    await expect(prepareSshAccess({ identity: keyFile, 'known-hosts': join(dir, 'known_hosts') }, env())).rejects.toMatchObject({
      code: 'VALIDATION',
      message: `the key ${keyFile} is encrypted: load it into ssh-agent, or give its passphrase with --identity-passphrase-file FILE`,
    });
    writeFileSync(passFile, 'wrong horse\n');
    await expect(prepareSshAccess({ identity: keyFile, 'identity-passphrase-file': passFile, 'known-hosts': join(dir, 'known_hosts') }, env())).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/bad passphrase/),
    });
  });
});

describe('readPassphraseFile', () => {
  it('reads the first line, without its line end', async () => {
    writeFileSync(passFile, 'right horse\r\nsecond line\n');
    expect(await readPassphraseFile(passFile)).toBe('right horse');
    writeFileSync(passFile, 'no newline');
    expect(await readPassphraseFile(passFile)).toBe('no newline');
  });

  it.each<[string, (path: string) => void, RegExp]>([
    ['readable by others', (path) => chmodSync(path, 0o644), /may be read by others \(mode 0644\): chmod 600 it$/],
    ['readable by its group', (path) => chmodSync(path, 0o640), /may be read by others \(mode 0640\): chmod 600 it$/],
    ['empty', (path) => writeFileSync(path, '\nrest'), /is empty: its first line is the passphrase$/],
    ['missing', (path) => rmSync(path), /^cannot read the passphrase file .*: ENOENT$/],
  ])('refuses a file that is %s', async (_what, spoil, message) => {
    spoil(passFile);
    await expect(readPassphraseFile(passFile)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(message) });
  });
});
