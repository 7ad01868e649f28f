/**
 * Seals and opens the passwords in a group's settings (the proxy URLs' `user:password@`), so the
 * database never holds them in clear. Pure given the box: settings in, settings out.
 */
import type { Settings } from '../protocol/settings.js';
import type { SecretBox } from './secret-box.js';

const USERINFO = /^(https?:\/\/)([^:@/]*):([^@/]*)@(.*)$/;

function mapPassword(url: string | undefined, f: (password: string) => string): string | undefined {
  if (url === undefined) return url;
  const m = USERINFO.exec(url);
  return m ? `${m[1]}${m[2]}:${f(m[3]!)}@${m[4]}` : url;
}

function mapProxies(settings: Settings, f: (password: string) => string): Settings {
  const proxy = <P extends { http?: string | undefined; https?: string | undefined }>(p: P | null): P | null =>
    p === null ? null : { ...p, ...(p.http !== undefined ? { http: mapPassword(p.http, f) } : {}), ...(p.https !== undefined ? { https: mapPassword(p.https, f) } : {}) };
  return { ...settings, daemonProxy: proxy(settings.daemonProxy), clientProxy: proxy(settings.clientProxy) };
}

/** The settings with every proxy password sealed. */
export function sealSettingsSecrets(settings: Settings, box: SecretBox): Settings {
  return mapProxies(settings, (password) => (password === '' ? password : box.seal(password)));
}

/** The settings with every sealed proxy password opened. */
export function openSettingsSecrets(settings: Settings, box: SecretBox): Settings {
  return mapProxies(settings, (password) => box.open(password));
}
