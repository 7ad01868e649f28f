/**
 * Looks up local users (home, uid, gid) in the host's /etc/passwd under the agent's root, for the
 * client proxy in `~/.docker/config.json`.
 */
import { join } from 'node:path';
import { readTextOrNull } from './files.js';

export type LocalUser = { name: string; uid: number; gid: number; home: string };

/** Parses passwd text into users by name. Pure. */
export function parsePasswd(text: string): Map<string, LocalUser> {
  const users = new Map<string, LocalUser>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !f[0]) continue;
    users.set(f[0], { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return users;
}

/** Reads `${root}/etc/passwd`. */
export async function readLocalUsers(root: string): Promise<Map<string, LocalUser>> {
  return parsePasswd((await readTextOrNull(join(root, 'etc/passwd'))) ?? '');
}
