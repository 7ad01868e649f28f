import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INITIAL_STATE, loadState, saveState, type AgentState } from './state.js';

describe('agent state: the last failed attempt', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetdock-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const failed: AgentState = {
    appliedRevision: 3,
    owned: { daemonJsonKeys: ['registry-mirrors'], dropIn: false, clientUsers: [] },
    written: { '/etc/docker/daemon.json': 'a'.repeat(64) },
    lastFailure: { revision: 4, settingsSha256: 'b'.repeat(64), outcome: 'rolled-back', error: { code: 'VERIFY_FAILED', message: 'no proxy in /info' }, at: '2026-11-28T10:00:00.000Z' },
  };

  it('starts with none', async () => {
    expect((await loadState(dir)).lastFailure).toBeNull();
    expect(INITIAL_STATE.lastFailure).toBeNull();
  });

  it('is stored with the rest of the state (mode 0600) and read back', async () => {
    await saveState(dir, failed);
    expect(await loadState(dir)).toEqual(failed);
    expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);
  });

  it('reads a state file from before it existed as none', async () => {
    const { lastFailure: _none, ...older } = failed;
    writeFileSync(join(dir, 'state.json'), JSON.stringify(older));
    expect(await loadState(dir)).toEqual({ ...older, lastFailure: null });
  });

  it('drops a record it cannot read (a newer format, a bad edit) and keeps the rest: at worst one more attempt, never an agent that will not start', async () => {
    await saveState(dir, failed);
    const text = readFileSync(join(dir, 'state.json'), 'utf8').replace('"rolled-back"', '"exploded"');
    writeFileSync(join(dir, 'state.json'), text);
    expect(await loadState(dir)).toEqual({ ...failed, lastFailure: null });
  });

  it('still refuses a corrupt state file outside that record', async () => {
    await saveState(dir, failed);
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...failed, appliedRevision: 'four' }));
    await expect(loadState(dir)).rejects.toThrow(/state\.json is corrupt/);
  });
});
