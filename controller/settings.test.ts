import { describe, expect, it } from 'vitest';
import type { ObservedState } from '../protocol/observed.js';
import { SettingsSchema } from '../protocol/settings.js';
import { redactObserved, redactSettings, renderSettingsJson } from './settings.js';

const parse = (input: unknown) => SettingsSchema.parse(input);

describe('renderSettingsJson', () => {
  it('is the same text for settings that normalise the same, whatever the key order', () => {
    const a = parse({ registryMirrors: ['https://Mirror.Example:5000'], daemonProxy: { https: 'http://proxy:3128', noProxy: ['localhost'] } });
    const b = parse({ daemonProxy: { noProxy: ['localhost'], https: 'http://PROXY:3128' }, registryMirrors: ['https://mirror.example:5000'] });
    expect(renderSettingsJson(a)).toBe(renderSettingsJson(b));
  });

  it('differs when the mirror order differs (order is a preference)', () => {
    const a = parse({ registryMirrors: ['http://a:5000', 'http://b:5000'] });
    const b = parse({ registryMirrors: ['http://b:5000', 'http://a:5000'] });
    expect(renderSettingsJson(a)).not.toBe(renderSettingsJson(b));
  });

  it('round-trips through the settings schema unchanged', () => {
    const settings = parse({ daemonProxy: { http: 'http://u:p@proxy:3128' }, clientProxy: { https: 'http://proxy:3128', users: ['ci'] } });
    const json = renderSettingsJson(settings);
    expect(renderSettingsJson(parse(JSON.parse(json)))).toBe(json);
  });
});

describe('redactSettings', () => {
  it('hides proxy credentials in both proxies and leaves the stored settings alone', () => {
    const settings = parse({
      daemonProxy: { http: 'http://user:s3cret@proxy:3128', https: 'https://user:s3cret@proxy:3129' },
      clientProxy: { http: 'http://user:s3cret@proxy:3128', users: ['ci'] },
    });
    const shown = redactSettings(settings);
    expect(JSON.stringify(shown)).not.toContain('s3cret');
    expect(shown.daemonProxy?.http).toBe('http://xxxxx:xxxxx@proxy:3128');
    expect(shown.clientProxy?.users).toEqual(['ci']);
    expect(settings.daemonProxy?.http).toBe('http://user:s3cret@proxy:3128');
  });
});

describe('redactObserved', () => {
  it('hides proxy credentials an agent failed to redact', () => {
    const leaky = { http: 'http://u:s3cret@proxy:3128', https: null, noProxy: [] };
    const observed: ObservedState = {
      at: '2026-11-28T10:00:00.000Z',
      appliedRevision: 1,
      files: {
        daemonJson: 'ok',
        daemonJsonSha256: null,
        registryMirrors: [],
        insecureRegistries: [],
        daemonJsonProxy: leaky,
        dropInProxy: leaky,
        clientProxies: { ci: leaky, other: null },
      },
      daemon: { running: true, version: '24.0.7', registryMirrors: [], insecureRegistries: [], proxy: leaky, liveRestore: null },
    };
    const shown = redactObserved(observed);
    expect(JSON.stringify(shown)).not.toContain('s3cret');
    expect(shown.files.clientProxies.other).toBeNull();
  });
});
