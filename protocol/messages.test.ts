import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, FleetdockError, isErrorCode, type ErrorCode } from './errors.js';
import { AGENT_MESSAGE_TYPES, CONTROLLER_MESSAGE_TYPES, MAX_MESSAGE_BYTES, parseAgentMessage, parseControllerMessage } from './messages.js';
import type { ObservedState } from './observed.js';
import { thrown } from '../test/support/thrown.js';

const facts = {
  hostname: 'bs1',
  os: 'linux 6.1.0',
  arch: 'x64',
  dockerVersion: '20.10.24+dfsg1',
  serviceManager: 'systemd',
  liveRestore: false,
  agentVersion: '0.1.0',
} as const;

const observed: ObservedState = {
  at: '2026-11-28T10:00:00.000Z',
  appliedRevision: 3,
  files: {
    daemonJson: 'ok',
    daemonJsonSha256: 'a'.repeat(64),
    registryMirrors: ['http://mirror:5000'],
    insecureRegistries: ['registry.test:5000'],
    daemonJsonProxy: null,
    dropInProxy: { http: 'http://xxxxx:xxxxx@proxy:3128', https: null, noProxy: ['localhost'] },
    clientProxies: { ci: { http: 'http://proxy:3128', https: null, noProxy: [] }, jenkins: null },
  },
  daemon: {
    running: true,
    version: '20.10.24+dfsg1',
    registryMirrors: ['http://mirror:5000'],
    insecureRegistries: ['registry.test:5000'],
    proxy: { http: 'http://xxxxx:xxxxx@proxy:3128', https: null, noProxy: ['localhost'] },
    liveRestore: false,
  },
};

const agentMessages = {
  hello: { type: 'hello', protocolVersion: 1, facts, appliedRevision: 3, observed },
  'hello before any apply': { type: 'hello', protocolVersion: 1, facts: { ...facts, dockerVersion: null, liveRestore: null }, appliedRevision: null, observed: null },
  'apply-result': {
    type: 'apply-result',
    revision: 4,
    outcome: 'applied',
    action: 'reload',
    filesChanged: ['/etc/docker/daemon.json'],
    verification: { ok: true, detail: 'dockerd reports mirrors http://mirror:5000' },
    error: null,
    durationMs: 812,
  },
  'apply-result that failed': {
    type: 'apply-result',
    revision: 5,
    outcome: 'failed',
    action: 'none',
    filesChanged: [],
    verification: null,
    error: { code: 'FLAG_CONFLICT', message: 'dockerd is started with --registry-mirror' },
    durationMs: 3,
  },
  observed: { type: 'observed', observed },
  error: { type: 'error', code: 'BAD_MESSAGE', message: 'bad desired message' },
} as const;

const controllerMessages = {
  welcome: { type: 'welcome', protocolVersion: 1, hostId: 'h_1', name: 'bs1', group: 'builders' },
  desired: {
    type: 'desired',
    revision: 7,
    settings: {
      registryMirrors: ['http://mirror:5000'],
      insecureRegistries: ['registry.test:5000'],
      daemonProxy: { http: 'http://u:p%40ss@proxy:3128', noProxy: ['localhost'] },
      clientProxy: null,
    },
  },
  'desired re-sent after a hello': { type: 'desired', revision: 7, settings: { registryMirrors: ['http://mirror:5000'], insecureRegistries: [], daemonProxy: null, clientProxy: null }, resend: true },
  'desired explicitly not a re-send': { type: 'desired', revision: 7, settings: { registryMirrors: [], insecureRegistries: [], daemonProxy: null, clientProxy: null }, resend: false },
  error: { type: 'error', code: 'UNAUTHENTICATED', message: 'credential revoked', fatal: true },
} as const;

describe('parseAgentMessage / parseControllerMessage: valid messages', () => {
  it.each(Object.entries(agentMessages))('an agent %s message round-trips', (_name, message) => {
    expect(parseAgentMessage(JSON.stringify(message))).toEqual(message);
  });

  it.each(Object.entries(controllerMessages))('a controller %s message round-trips', (_name, message) => {
    expect(parseControllerMessage(JSON.stringify(message))).toEqual(message);
  });

  it('takes a Buffer as well as a string', () => {
    expect(parseAgentMessage(Buffer.from(JSON.stringify(agentMessages.error)))).toEqual(agentMessages.error);
  });

  it('fills the defaults of a desired message (settings) and an error (fatal false)', () => {
    expect(parseControllerMessage('{"type":"desired","revision":1,"settings":{}}')).toEqual({
      type: 'desired',
      revision: 1,
      settings: { registryMirrors: [], insecureRegistries: [], daemonProxy: null, clientProxy: null },
    });
    expect(parseControllerMessage('{"type":"error","code":"X","message":"m"}')).toMatchObject({ fatal: false });
  });

  it('leaves `resend` out of a desired message that has none (an older controller): not a re-send', () => {
    const parsed = parseControllerMessage('{"type":"desired","revision":3,"settings":{}}');
    expect(parsed).not.toHaveProperty('resend');
    expect(parsed.type === 'desired' && parsed.resend === true).toBe(false);
  });

  it('normalises the settings of a desired message', () => {
    const parsed = parseControllerMessage('{"type":"desired","revision":1,"settings":{"registryMirrors":["HTTP://Mirror:5000/"]}}');
    expect(parsed).toMatchObject({ settings: { registryMirrors: ['http://mirror:5000'] } });
  });
});

describe('parseAgentMessage / parseControllerMessage: refusals', () => {
  const parsers = [
    ['parseAgentMessage', parseAgentMessage],
    ['parseControllerMessage', parseControllerMessage],
  ] as const;

  describe.each(parsers)('%s', (_name, parse) => {
    it.each([
      ['not JSON', 'hello', 'BAD_JSON'],
      ['truncated JSON', '{"type":"error"', 'BAD_JSON'],
      ['empty text', '', 'BAD_JSON'],
      ['a JSON array', '[{"type":"error"}]', 'BAD_MESSAGE'],
      ['a JSON string', '"error"', 'BAD_MESSAGE'],
      ['JSON null', 'null', 'BAD_MESSAGE'],
      ['a number', '42', 'BAD_MESSAGE'],
      ['an object without type', '{"code":"X","message":"m"}', 'UNKNOWN_MESSAGE_TYPE'],
      ['a type that is not a string', '{"type":1}', 'UNKNOWN_MESSAGE_TYPE'],
      ['an unknown type', '{"type":"reboot"}', 'UNKNOWN_MESSAGE_TYPE'],
      ['a type from Object.prototype', '{"type":"toString"}', 'UNKNOWN_MESSAGE_TYPE'],
    ] as const)('refuses %s with %s', (_what, text, code) => {
      const error = thrown(() => parse(text));
      expect(error.code).toBe(code);
      expect(error.status).toBe(ERROR_CATALOGUE[code].status);
    });

    it('refuses a message over the size limit with MESSAGE_TOO_LARGE, before parsing it', () => {
      const big = JSON.stringify({ type: 'error', code: 'X', message: 'x'.repeat(MAX_MESSAGE_BYTES) });
      const error = thrown(() => parse(big));
      expect(error.code).toBe('MESSAGE_TOO_LARGE');
      expect(error.status).toBe(413);
      expect(thrown(() => parse(`${'['.repeat(MAX_MESSAGE_BYTES + 1)}`)).code).toBe('MESSAGE_TOO_LARGE');
    });

    it('counts the limit in bytes, not characters', () => {
      // 100 000 three-byte characters: under the limit in characters, over it in bytes
      const text = JSON.stringify({ type: 'error', code: 'X', message: '€'.repeat(100_000) });
      expect(text.length).toBeLessThan(MAX_MESSAGE_BYTES);
      expect(thrown(() => parse(text)).code).toBe('MESSAGE_TOO_LARGE');
      expect(thrown(() => parse(Buffer.from(text))).code).toBe('MESSAGE_TOO_LARGE');
    });

    it('names the unknown type and the allowed ones', () => {
      const error = thrown(() => parse('{"type":"reboot"}'));
      expect(error.message).toContain('reboot');
      expect(error.message).toContain('error');
    });

    it('does not let __proto__ in a message change Object.prototype', () => {
      const text = '{"type":"error","code":"X","message":"m","__proto__":{"polluted":"yes","type":"welcome"}}';
      try {
        parse(text);
      } catch {
        // refusing the message is fine; polluting is not
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });
  });

  it('refuses a controller message type from an agent, and an agent type from the controller', () => {
    expect(thrown(() => parseAgentMessage(JSON.stringify(controllerMessages.desired))).code).toBe('UNKNOWN_MESSAGE_TYPE');
    expect(thrown(() => parseAgentMessage(JSON.stringify(controllerMessages.welcome))).code).toBe('UNKNOWN_MESSAGE_TYPE');
    expect(thrown(() => parseControllerMessage(JSON.stringify(agentMessages.hello))).code).toBe('UNKNOWN_MESSAGE_TYPE');
    expect(thrown(() => parseControllerMessage(JSON.stringify(agentMessages['apply-result']))).code).toBe('UNKNOWN_MESSAGE_TYPE');
  });

  it('allows only "error" in both directions', () => {
    expect(AGENT_MESSAGE_TYPES.filter((t) => (CONTROLLER_MESSAGE_TYPES as readonly string[]).includes(t))).toEqual(['error']);
  });

  it.each([
    ['a bad mirror in desired settings', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.desired, settings: { registryMirrors: ['ftp://m'] } })), ['settings.registryMirrors[0]', 'ftp://m']],
    ['an unknown settings field', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.desired, settings: { mirrors: [] } })), ['settings', 'mirrors']],
    ['a revision of 0', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.desired, revision: 0 })), ['revision']],
    ['a fractional revision', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.desired, revision: 1.5 })), ['revision']],
    ['a missing settings', () => parseControllerMessage('{"type":"desired","revision":1}'), ['settings']],
    ['a resend that is not a boolean', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.desired, resend: 'yes' })), ['resend']],
    ['a resend of null', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.desired, resend: null })), ['resend']],
    ['an unknown top-level field', () => parseControllerMessage(JSON.stringify({ ...controllerMessages.welcome, admin: true })), ['admin']],
    ['a bad outcome', () => parseAgentMessage(JSON.stringify({ ...agentMessages['apply-result'], outcome: 'ok' })), ['outcome']],
    ['a bad action', () => parseAgentMessage(JSON.stringify({ ...agentMessages['apply-result'], action: 'reboot' })), ['action']],
    ['a negative duration', () => parseAgentMessage(JSON.stringify({ ...agentMessages['apply-result'], durationMs: -1 })), ['durationMs']],
    ['a bad service manager', () => parseAgentMessage(JSON.stringify({ ...agentMessages.hello, facts: { ...facts, serviceManager: 'openrc' } })), ['facts.serviceManager']],
    ['a missing fact', () => parseAgentMessage(JSON.stringify({ ...agentMessages.hello, facts: { ...facts, arch: undefined } })), ['facts.arch']],
    [
      'a bad observed daemon.json status',
      () => parseAgentMessage(JSON.stringify({ type: 'observed', observed: { ...observed, files: { ...observed.files, daemonJson: 'broken' } } })),
      ['observed.files.daemonJson'],
    ],
    ['an error code too long', () => parseAgentMessage(JSON.stringify({ type: 'error', code: 'X'.repeat(65), message: 'm' })), ['code']],
  ] as const)('refuses %s with BAD_MESSAGE naming the field', (_what, run, named) => {
    const error = thrown(run);
    expect(error.code).toBe('BAD_MESSAGE');
    for (const word of named) expect(error.message).toContain(word);
  });

  it('does not let a settings key named __proto__ through', () => {
    const text = '{"type":"desired","revision":1,"settings":{"__proto__":{"registryMirrors":["http://evil:5000"]}}}';
    let parsed: unknown = null;
    try {
      parsed = parseControllerMessage(text);
    } catch (error) {
      expect((error as FleetdockError).code).toBe('BAD_MESSAGE');
    }
    if (parsed) expect(parsed).toMatchObject({ settings: { registryMirrors: [] } });
    expect(({} as Record<string, unknown>).registryMirrors).toBeUndefined();
  });

  it('does not let a client-proxy user named __proto__ change any prototype', () => {
    const text = JSON.stringify({ type: 'observed', observed }).replace('"jenkins":null', '"jenkins":null,"__proto__":{"http":"http://evil:1","https":null,"noProxy":[]}');
    expect(text).toContain('__proto__');
    let parsed: { observed: ObservedState } | null = null;
    try {
      parsed = parseAgentMessage(text) as { observed: ObservedState };
    } catch (error) {
      expect((error as FleetdockError).code).toBe('BAD_MESSAGE');
    }
    if (parsed) {
      const proxies = parsed.observed.files.clientProxies;
      expect(Object.getPrototypeOf(proxies) === Object.prototype || Object.getPrototypeOf(proxies) === null).toBe(true);
      expect((proxies as Record<string, unknown>).http).toBeUndefined();
    }
    expect(({} as Record<string, unknown>).http).toBeUndefined();
  });
});

describe('error catalogue', () => {
  const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

  it.each(codes)('%s has a valid HTTP error status and a boolean retryable', (code) => {
    const { status, retryable } = ERROR_CATALOGUE[code];
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(STATUS_CODES[status]).toBeDefined();
    expect(typeof retryable).toBe('boolean');
  });

  it.each(codes)('%s is an upper-case stable identifier', (code) => {
    expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect(isErrorCode(code)).toBe(true);
  });

  it.each(['toString', '__proto__', 'constructor', 'validation', '', 42, null])('isErrorCode(%j) is false', (value) => {
    expect(isErrorCode(value)).toBe(false);
  });

  it('gives a FleetdockError the status and retryable of its code', () => {
    const error = new FleetdockError('DOCKER_UNREACHABLE', 'dockerd is down');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('FleetdockError');
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
  });
});

describe('FleetdockError.toJSON', () => {
  it('is { code, message, retryable } without details', () => {
    const error = new FleetdockError('VALIDATION', 'registry mirror "ftp://x" is not an http(s) URL');
    expect(error.toJSON()).toEqual({ code: 'VALIDATION', message: 'registry mirror "ftp://x" is not an http(s) URL', retryable: false });
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
  });

  it('adds details when given', () => {
    const error = new FleetdockError('FLAG_CONFLICT', 'flag', { details: { flags: ['--registry-mirror'] } });
    expect(error.toJSON()).toEqual({ code: 'FLAG_CONFLICT', message: 'flag', retryable: false, details: { flags: ['--registry-mirror'] } });
  });

  it('keeps the cause on the error but never sends it (no status, stack or cause on the wire)', () => {
    const cause = new Error('EACCES: /etc/docker/daemon.json secret-path');
    const error = new FleetdockError('WRITE_FAILED', 'could not write daemon.json', { cause });
    expect(error.cause).toBe(cause);
    const wire = JSON.stringify(error);
    expect(Object.keys(JSON.parse(wire)).sort()).toEqual(['code', 'message', 'retryable']);
    expect(wire).not.toContain('secret-path');
  });
});
