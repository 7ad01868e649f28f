/**
 * Valid messages and bodies the fuzzers mutate: every agent and controller message type and a full
 * settings object (proxies, lists, client users), so mutations reach every field. Test code only.
 */
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { FACTS } from '../controller/harness.js';

/** The facts a test agent reports (shared with the controller tests). */
export { FACTS };

const PROXY_VIEW = { http: 'http://xxxxx:xxxxx@proxy.internal:3128', https: null, noProxy: ['localhost', '.internal', '10.0.0.0/8'] };

export const OBSERVED = {
  at: '2026-11-28T10:00:00.000Z',
  appliedRevision: 3,
  files: {
    daemonJson: 'ok',
    daemonJsonSha256: 'a'.repeat(64),
    registryMirrors: ['https://mirror.internal:5000'],
    insecureRegistries: ['registry.internal:5000', '10.0.0.0/8'],
    daemonJsonProxy: PROXY_VIEW,
    dropInProxy: null,
    clientProxies: { builder: PROXY_VIEW, ci: null },
  },
  daemon: {
    running: true,
    version: '24.0.7',
    registryMirrors: ['https://mirror.internal:5000'],
    insecureRegistries: ['registry.internal:5000'],
    proxy: PROXY_VIEW,
    liveRestore: true,
  },
};

export const SETTINGS = {
  registryMirrors: ['https://mirror.internal:5000', 'http://10.1.2.3'],
  insecureRegistries: ['registry.internal:5000', '10.0.0.0/8', '[fd00::1]:5000', 'fd00::/8'],
  daemonProxy: { http: 'http://user:p%40ss@proxy.internal:3128', https: 'https://proxy.internal:3129', noProxy: ['localhost', '.internal', '*.corp', '127.0.0.1', '::1', '10.0.0.0/8', 'host:8080'] },
  clientProxy: { http: 'http://proxy.internal:3128', noProxy: ['*'], users: ['builder', 'ci_runner'] },
};

export const AGENT_MESSAGES = [
  { type: 'hello', protocolVersion: PROTOCOL_VERSION, facts: FACTS, appliedRevision: 3, observed: OBSERVED },
  { type: 'hello', protocolVersion: PROTOCOL_VERSION, facts: FACTS, appliedRevision: null, observed: null },
  {
    type: 'apply-result',
    revision: 3,
    outcome: 'rolled-back',
    action: 'reload',
    filesChanged: ['/etc/docker/daemon.json'],
    verification: { ok: false, detail: 'mirrors differ' },
    error: { code: 'VERIFY_FAILED', message: 'dockerd did not report the mirror' },
    durationMs: 1200,
  },
  {
    type: 'apply-result',
    revision: 4,
    outcome: 'applied',
    action: 'reload',
    filesChanged: ['/etc/docker/daemon.json'],
    verification: { ok: true, detail: 'dockerd reports the registry mirrors' },
    error: null,
    durationMs: 310,
    observed: OBSERVED,
  },
  { type: 'observed', observed: OBSERVED },
  { type: 'error', code: 'BAD_MESSAGE', message: 'desired message could not be read' },
];

export const CONTROLLER_MESSAGES = [
  { type: 'welcome', protocolVersion: PROTOCOL_VERSION, hostId: '7d3c2f4e-0000-4000-8000-000000000000', name: 'bs1', group: 'builders' },
  { type: 'desired', revision: 4, settings: SETTINGS },
  { type: 'error', code: 'SESSION_REPLACED', message: 'a newer connection replaced this one', fatal: true },
];
