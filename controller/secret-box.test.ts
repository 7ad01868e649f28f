import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SettingsSchema } from '../protocol/settings.js';
import { createSecretBox, isSealed, loadOrCreateSecretBox, SECRET_KEY_FILE } from './secret-box.js';
import { openSettingsSecrets, sealSettingsSecrets } from './settings-secrets.js';

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it.each(['p@ss', 'p%40ss', '$HOME', 'ünï€', ''])('seals %j into URL-safe text and opens it again', (plain) => {
    const sealed = box.seal(plain);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).toMatch(/^fdenc1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    if (plain) expect(sealed).not.toContain(plain);
    expect(box.open(sealed)).toBe(plain);
  });

  it('seals the same secret to the same text (revisions stay comparable), different secrets differently', () => {
    expect(box.seal('one')).toBe(box.seal('one'));
    expect(box.seal('one')).not.toBe(box.seal('two'));
  });

  it('refuses to open with another key, saying which file to look at', () => {
    const other = createSecretBox(randomBytes(32));
    expect(() => other.open(box.seal('secret'))).toThrow(SECRET_KEY_FILE);
  });

  it('keeps its key in DATA/secret.key, mode 0600, and finds it again on the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetdock-key-'));
    try {
      const sealed = loadOrCreateSecretBox(dir).seal('secret');
      expect(statSync(join(dir, SECRET_KEY_FILE)).mode & 0o777).toBe(0o600);
      expect(loadOrCreateSecretBox(dir).open(sealed)).toBe('secret');
      writeFileSync(join(dir, SECRET_KEY_FILE), 'short\n');
      expect(() => loadOrCreateSecretBox(dir)).toThrow('32-byte');
      expect(readFileSync(join(dir, SECRET_KEY_FILE), 'utf8')).toBe('short\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sealSettingsSecrets / openSettingsSecrets', () => {
  const box = createSecretBox(randomBytes(32));
  const settings = SettingsSchema.parse({
    registryMirrors: ['http://mirror:5000'],
    daemonProxy: { http: 'http://build:canary-pw@proxy:3128', https: 'http://proxy:3128', noProxy: ['localhost'] },
    clientProxy: { https: 'https://ci:other%40pw@proxy:3129', users: ['ci'] },
  });

  it('seals every proxy password and nothing else, and opens them back to the same settings', () => {
    const sealed = sealSettingsSecrets(settings, box);
    const text = JSON.stringify(sealed);
    expect(text).not.toContain('canary-pw');
    expect(text).not.toContain('other%40pw');
    expect(sealed.daemonProxy!.http).toMatch(/^http:\/\/build:fdenc1\.[^@]+@proxy:3128$/);
    expect(sealed.daemonProxy!.https).toBe('http://proxy:3128');
    expect(sealed.registryMirrors).toEqual(settings.registryMirrors);
    expect(openSettingsSecrets(sealed, box)).toEqual(settings);
  });

  it('leaves settings without a proxy as they are', () => {
    const plain = SettingsSchema.parse({ registryMirrors: ['http://m:5000'] });
    expect(sealSettingsSecrets(plain, box)).toEqual(plain);
  });
});
