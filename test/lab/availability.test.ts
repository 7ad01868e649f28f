// The harness's own gate: what checkLab reports and how requireLab behaves in CI and outside it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { checkLab, labPathsFor, requireLab } from '../../lab/index.js';

describe('lab availability', () => {
  const emptyCache = mkdtempSync(join(tmpdir(), 'fdl-empty-cache-'));
  const paths = labPathsFor(emptyCache);
  afterAll(() => rmSync(emptyCache, { recursive: true, force: true }));

  it('names the cache pieces that install.sh has not made', () => {
    const { ok, missing } = checkLab(paths);
    expect(ok).toBe(false);
    expect(missing).toContain(`dockerd 26 (lab cache) (${join(emptyCache, 'docker26/usr/sbin/dockerd')})`);
    expect(missing.some((m) => m.startsWith('build-server rootfs'))).toBe(true);
  });

  it('throws in CI, so a CI run cannot pass by skipping', () => {
    vi.stubEnv('CI', 'true');
    try {
      expect(() => requireLab(paths)).toThrow(/bash lab\/install\.sh/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('outside CI, says loudly what is missing and returns false', () => {
    vi.stubEnv('CI', '');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(requireLab(paths)).toBe(false);
      const printed = write.mock.calls.map((c) => String(c[0])).join('');
      expect(printed).toMatch(/SKIPPING LAB TESTS/);
      expect(printed).toContain('docker26');
      expect(printed).toContain('bash lab/install.sh');
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});
