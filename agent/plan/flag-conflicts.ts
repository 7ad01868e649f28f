/**
 * Finds dockerd command-line flags that clash with daemon.json keys fleetdock is about to write.
 * dockerd refuses to start when a setting is given both ways, and on reload it keeps the old settings
 * silently, so the agent looks before it writes. Pure.
 */
import type { ManagedDaemonKey } from '../render/daemon-json.js';

const FLAG_TO_KEY: Record<string, ManagedDaemonKey> = {
  '--registry-mirror': 'registry-mirrors',
  '--insecure-registry': 'insecure-registries',
  '--http-proxy': 'proxies',
  '--https-proxy': 'proxies',
  '--no-proxy': 'proxies',
};

export type FlagConflict = { flag: string; key: ManagedDaemonKey };

/** Lists each flag in `args` (dockerd's argv) that sets one of `keys`. */
export function findFlagConflicts(args: readonly string[], keys: readonly ManagedDaemonKey[]): FlagConflict[] {
  const found: FlagConflict[] = [];
  for (const arg of args) {
    const flag = arg.split('=')[0]!;
    const key = FLAG_TO_KEY[flag];
    if (key && keys.includes(key) && !found.some((f) => f.flag === flag)) found.push({ flag, key });
  }
  return found;
}

/**
 * Splits systemd's `ExecStart` property (`{ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// ; ... }`)
 * into argv words, for every command it lists.
 */
export function parseExecStartProperty(text: string): string[] {
  const words: string[] = [];
  for (const m of text.matchAll(/argv\[\]=([^;]*)/g)) words.push(...m[1]!.trim().split(/\s+/).filter(Boolean));
  return words;
}
