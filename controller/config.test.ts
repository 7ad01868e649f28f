import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_DEFAULTS, parseListenAddress, resolveControllerConfig } from './config.js';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:7700', { host: '127.0.0.1', port: 7700 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['controller.internal:80', { host: 'controller.internal', port: 80 }],
    ['[::1]:7700', { host: '::1', port: 7700 }],
  ])('%s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each(['7700', '127.0.0.1', '127.0.0.1:70000', 'host:port', ':7700', '::1:7700'])('refuses %s, naming it', (text) => {
    expect(() => parseListenAddress(text)).toThrow(`--listen ${JSON.stringify(text)} is not HOST:PORT`);
  });
});

describe('resolveControllerConfig', () => {
  it('fills in the defaults and freezes the result', () => {
    const config = resolveControllerConfig();
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 7700 });
    expect(isAbsolute(config.dataDir)).toBe(true);
    expect(config.dataDir.endsWith('.fleetdock')).toBe(true);
    expect(config.heartbeatIntervalMs).toBe(CONTROLLER_DEFAULTS.heartbeatIntervalMs);
    expect(Object.isFrozen(config)).toBe(true);
  });
});
