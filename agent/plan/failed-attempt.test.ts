import { describe, expect, it } from 'vitest';
import { parseControllerMessage, parseAgentMessage, type ApplyResult, type Desired } from '../../protocol/messages.js';
import { SettingsSchema, type SettingsInput } from '../../protocol/settings.js';
import { digestSettings, FailedAttemptSchema, mergePending, planDesired, rememberAttempt, type FailedAttempt } from './failed-attempt.js';

const PROXY: SettingsInput = { daemonProxy: { http: 'http://builder:s3cret@proxy.corp:3128', noProxy: ['localhost'] } };
const OTHER: SettingsInput = { registryMirrors: ['http://mirror.internal:5000'] };

function desired(revision: number, settings: SettingsInput, resend?: boolean): Desired {
  return { type: 'desired', revision, settings: SettingsSchema.parse(settings), ...(resend === undefined ? {} : { resend }) };
}

function failure(revision: number, settings: SettingsInput, fields: Partial<FailedAttempt> = {}): FailedAttempt {
  return {
    revision,
    settingsSha256: digestSettings(SettingsSchema.parse(settings)),
    outcome: 'rolled-back',
    error: { code: 'VERIFY_FAILED', message: 'after the restart, within 30 s: dockerd reports no HTTP proxy' },
    at: '2026-11-28T10:00:00.000Z',
    ...fields,
  };
}

function result(outcome: ApplyResult['outcome'], error: ApplyResult['error'] = null, touched = true): ApplyResult {
  return { type: 'apply-result', revision: 4, outcome, action: touched ? 'restart' : 'none', filesChanged: touched ? ['/etc/docker/daemon.json'] : [], verification: null, error, durationMs: 3100 };
}

describe('digestSettings', () => {
  it('is the same for the same settings whatever the key order or spelling the schema normalises', () => {
    const a = SettingsSchema.parse({ registryMirrors: ['HTTP://Mirror.Internal:5000/'], insecureRegistries: ['registry.test:5000'] });
    const b = SettingsSchema.parse({ insecureRegistries: ['registry.test:5000'], registryMirrors: ['http://mirror.internal:5000'] });
    expect(digestSettings(a)).toBe(digestSettings(b));
    expect(digestSettings(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs when any setting differs (a proxy password too)', () => {
    const a = SettingsSchema.parse(PROXY);
    const b = SettingsSchema.parse({ daemonProxy: { http: 'http://builder:other@proxy.corp:3128', noProxy: ['localhost'] } });
    expect(digestSettings(a)).not.toBe(digestSettings(b));
  });
});

describe('planDesired', () => {
  const remembered = failure(4, PROXY);
  it.each([
    ['nothing failed before, re-sent after a hello', desired(4, PROXY, true), null, 'apply'],
    ['the failed revision, re-sent after a hello', desired(4, PROXY, true), remembered, 'repeat'],
    ['the failed revision, re-sent, that had ended `failed`', desired(4, PROXY, true), failure(4, PROXY, { outcome: 'failed', error: { code: 'FLAG_CONFLICT', message: 'm' } }), 'repeat'],
    ['the failed revision from a rollout or first push (no resend field)', desired(4, PROXY), remembered, 'apply'],
    ['the failed revision with resend false', desired(4, PROXY, false), remembered, 'apply'],
    ['another revision, re-sent', desired(5, PROXY, true), remembered, 'apply'],
    ['an older revision, re-sent (a rollout put the host back)', desired(3, OTHER, true), remembered, 'apply'],
    ['the same revision number with other settings (a new controller database), re-sent', desired(4, OTHER, true), remembered, 'apply'],
  ] as const)('%s: %s', (_what, message, last, kind) => {
    expect(planDesired(message, last, 'builders').kind).toBe(kind);
  });

  it('repeats the remembered outcome and error code, with action none, nothing written, and says what retries it', () => {
    const plan = planDesired(desired(4, PROXY, true), remembered, 'builders');
    if (plan.kind !== 'repeat') throw new Error('expected a repeat');
    expect(plan.result).toMatchObject({ type: 'apply-result', revision: 4, outcome: 'rolled-back', action: 'none', filesChanged: [], verification: null, durationMs: 0, repeated: true });
    expect(plan.result.error?.code).toBe('VERIFY_FAILED');
    const message = plan.result.error!.message;
    expect(message).toMatch(/^not tried again: revision 4 /);
    expect(message).toContain('2026-11-28T10:00:00.000Z');
    expect(message).toContain("'fleetdock rollout start builders'");
    expect(message).toContain('A new revision');
    expect(message).not.toContain('enforce'); // drift enforcement acts on hand edits, never on a failed apply
    expect(message).toContain('dockerd reports no HTTP proxy');
    // What goes on the wire is a valid apply-result.
    expect(parseAgentMessage(JSON.stringify(plan.result))).toEqual(plan.result);
  });

  it('keeps the repeated message within the wire limit when the remembered one is already at it', () => {
    const plan = planDesired(desired(4, PROXY, true), failure(4, PROXY, { error: { code: 'VERIFY_FAILED', message: 'x'.repeat(4096) } }), 'builders');
    if (plan.kind !== 'repeat') throw new Error('expected a repeat');
    expect(plan.result.error!.message.length).toBe(4096);
    expect(() => parseAgentMessage(JSON.stringify(plan.result))).not.toThrow();
  });

  it('takes a desired message as parsed from the wire (the resend flag, settings normalised by the schema)', () => {
    const wire = parseControllerMessage(JSON.stringify({ type: 'desired', revision: 4, settings: { registryMirrors: ['HTTP://Mirror.Internal:5000/'] }, resend: true }));
    if (wire.type !== 'desired') throw new Error('expected desired');
    expect(planDesired(wire, failure(4, OTHER), 'builders').kind).toBe('repeat');
  });
});

describe('rememberAttempt', () => {
  const at = new Date('2026-11-28T11:22:33.000Z');
  it.each([
    ['applied', result('applied'), null],
    ['unchanged', result('unchanged'), null],
    ['rolled-back', result('rolled-back', { code: 'VERIFY_FAILED', message: 'no proxy in /info' }), failure(4, PROXY, { error: { code: 'VERIFY_FAILED', message: 'no proxy in /info' }, at: at.toISOString() })],
    ['failed', result('failed', { code: 'ROLLBACK_FAILED', message: 'dockerd is down' }), failure(4, PROXY, { outcome: 'failed', error: { code: 'ROLLBACK_FAILED', message: 'dockerd is down' }, at: at.toISOString() })],
    ['failed without an error body', result('failed'), failure(4, PROXY, { outcome: 'failed', error: { code: 'INTERNAL', message: 'the apply ended failed without an error' }, at: at.toISOString() })],
    // Failures found before anything was touched are cheap to try again, and a reconnect after the
    // cause is fixed (dockerd back up, the unit's flag removed) must let the host converge.
    ['failed before touching the host (a flag conflict)', result('failed', { code: 'FLAG_CONFLICT', message: '--registry-mirror in the unit' }, false), null],
    ['failed before touching the host (dockerd unreachable)', result('failed', { code: 'DOCKER_UNREACHABLE', message: 'connect ENOENT' }, false), null],
  ] as const)('after an apply that ended %s', (_outcome, applyResult, expected) => {
    const remembered = rememberAttempt(desired(4, PROXY), applyResult, at);
    expect(remembered).toEqual(expected);
    if (remembered) expect(FailedAttemptSchema.parse(remembered)).toEqual(remembered);
  });

  it('never keeps the settings themselves (a proxy password), only their digest', () => {
    const remembered = rememberAttempt(desired(4, PROXY), result('rolled-back', { code: 'VERIFY_FAILED', message: 'm' }), at);
    expect(JSON.stringify(remembered)).not.toContain('s3cret');
  });
});

describe('mergePending', () => {
  // The last column: what planDesired then does when revision 4 with PROXY failed here before.
  it.each([
    ['nothing waiting', null, desired(4, PROXY, true), desired(4, PROXY, true), 'repeat'],
    ['an explicit request waiting, the same revision re-sent after a reconnect: stays explicit', desired(4, PROXY), desired(4, PROXY, true), desired(4, PROXY), 'apply'],
    ['an explicit request waiting, another revision re-sent: the newer one', desired(4, PROXY), desired(5, PROXY, true), desired(5, PROXY, true), 'apply'],
    ['an explicit request waiting, the same number with other settings re-sent: the newer one', desired(4, PROXY), desired(4, OTHER, true), desired(4, OTHER, true), 'apply'],
    ['a re-send waiting, an explicit request arrives', desired(4, PROXY, true), desired(4, PROXY), desired(4, PROXY), 'apply'],
    ['a re-send waiting, another re-send of it arrives', desired(4, PROXY, true), desired(4, PROXY, true), desired(4, PROXY, true), 'repeat'],
    ['an explicit request waiting, a newer explicit one arrives', desired(4, PROXY), desired(5, OTHER), desired(5, OTHER), 'apply'],
  ] as const)('%s', (_what, waiting, incoming, expected, kind) => {
    const merged = mergePending(waiting, incoming);
    expect(merged).toEqual(expected);
    expect(planDesired(merged, failure(4, PROXY), 'builders').kind).toBe(kind);
  });
});
