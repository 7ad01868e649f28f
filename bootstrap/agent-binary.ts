/**
 * Reads the agent executable bootstrap installs: its size, sha256 (to skip an upload the host already
 * has, and to check the upload there) and the architecture its ELF header names.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { FleetdockError } from '../protocol/errors.js';
import type { AgentBinary } from './bootstrap-host.js';
import { elfArchitecture } from './host-facts.js';

/** Describes the agent binary at `path`; VALIDATION naming the fix when it is missing or not executable. */
export async function describeAgentBinary(path: string, isDefault: boolean): Promise<AgentBinary> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
    if ((s.mode & 0o111) === 0) throw new FleetdockError('VALIDATION', `the agent binary ${path} is not executable`);
    size = s.size;
  } catch (error) {
    if (error instanceof FleetdockError) throw error;
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new FleetdockError('VALIDATION', `the agent binary ${path} is missing (${why})${isDefault ? ': build it with `npm run build:agent`, or give --agent-binary PATH' : ''}`);
  }
  const handle = await open(path, 'r');
  const header = Buffer.alloc(64);
  try {
    await handle.read(header, 0, 64, 0);
  } finally {
    await handle.close();
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { path, size, sha256: hash.digest('hex'), arch: elfArchitecture(header) };
}
