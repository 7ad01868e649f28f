// The simulator's messages are what a real agent sends: each one passes the controller's own parser.
import { describe, expect, it } from 'vitest';
import { parseAgentMessage } from '../protocol/messages.js';
import { applyResultRenderer, renderApplyResult, renderHandEditedObserved, renderHello, renderObserved, renderObservedState } from './sim-messages.js';

const settings = { registryMirrors: ['https://mirror.bench.internal'], insecureRegistries: [] };
const at = new Date('2026-11-28T12:00:00.000Z');

describe('simulated agent messages', () => {
  it.each([
    ['hello', renderHello('sim-00001', at)],
    ['apply-result (protocol 2: no observed state)', renderApplyResult(2, 3)],
    ['apply-result carrying its observed state (protocol 3)', renderApplyResult(2, 3, renderObservedState(2, settings, at))],
    ['observed', renderObserved(2, settings, at)],
    ['observed after a hand edit', renderHandEditedObserved(2, settings, at)],
  ])('%s is accepted by the controller parser', (_name, text) => {
    expect(() => parseAgentMessage(Buffer.from(text))).not.toThrow();
  });

  it('a result carrying its observed state reports the mirrors it was sent', () => {
    const message = parseAgentMessage(Buffer.from(renderApplyResult(2, 3, renderObservedState(2, settings, at))));
    expect(message).toMatchObject({ type: 'apply-result', revision: 2, observed: { appliedRevision: 2, daemon: { registryMirrors: settings.registryMirrors } } });
  });

  it.each([
    ['plain mirrors', settings],
    ['mirrors JSON escapes', { registryMirrors: ['https://m.internal/"quoted"\\back\u2028é'], insecureRegistries: ['10.0.0.0/8'] }],
    ['a mirror holding a stand-in of the template', { registryMirrors: ['https://m.internal/987654321.125', '\u0000at\u0000'] }],
  ])('the per-revision renderer gives the same text as rendering each result (%s)', (_name, desired) => {
    const render = applyResultRenderer(2, desired);
    for (const [durationMs, when] of [[0, at], [17.5, new Date('2026-11-28T12:00:01.234Z')], [-1, new Date(0)]] as const) {
      expect(render(durationMs, when)).toBe(renderApplyResult(2, durationMs, renderObservedState(2, desired, when)));
    }
  });
});
