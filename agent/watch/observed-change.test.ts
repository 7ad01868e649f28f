import { describe, expect, it } from 'vitest';
import type { ObservedState } from '../../protocol/observed.js';
import { observedChanged, observedKey } from './observed-change.js';

const base: ObservedState = {
  at: '2026-11-28T10:00:00.000Z',
  appliedRevision: 3,
  files: { daemonJson: 'ok', daemonJsonSha256: 'aa', registryMirrors: ['http://m:5000'], insecureRegistries: [], daemonJsonProxy: null, dropInProxy: null, clientProxies: { ci: null, ops: null } },
  daemon: { running: true, version: '20.10.24', registryMirrors: ['http://m:5000'], insecureRegistries: [], proxy: { http: null, https: null, noProxy: [] }, liveRestore: false },
};

describe('observedChanged', () => {
  it.each<[string, ObservedState | null, ObservedState, boolean]>([
    ['nothing reported yet', null, base, true],
    ['the same state, taken later', base, { ...base, at: '2026-11-28T10:05:00.000Z' }, false],
    ['users listed in another order', base, { ...base, files: { ...base.files, clientProxies: { ops: null, ci: null } } }, false],
    ['a mirror edited in the file', base, { ...base, files: { ...base.files, registryMirrors: ['http://other:5000'] } }, true],
    ['only the bytes changed (whitespace)', base, { ...base, files: { ...base.files, daemonJsonSha256: 'bb' } }, true],
    ['dockerd reloaded with another mirror', base, { ...base, daemon: { ...base.daemon, registryMirrors: [] } }, true],
    ['dockerd went down', base, { ...base, daemon: { ...base.daemon, running: false } }, true],
    ['a new revision applied', base, { ...base, appliedRevision: 4 }, true],
    ['mirror order changed', { ...base, files: { ...base.files, registryMirrors: ['a', 'b'] } }, { ...base, files: { ...base.files, registryMirrors: ['b', 'a'] } }, true],
  ])('%s: %s', (_name, previous, next, changed) => {
    expect(observedChanged(previous, next)).toBe(changed);
  });

  it('ignores `at` in the key', () => {
    expect(observedKey(base)).not.toContain('2026-11-28');
  });
});
