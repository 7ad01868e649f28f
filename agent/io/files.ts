/**
 * File I/O for the agent: read a file or learn it is missing, and replace a file atomically (temp file
 * in the same directory, fsync, rename, fsync the directory) so a crash leaves either the old or the
 * new content, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Reads a UTF-8 file; null when it does not exist. */
export async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export type WriteOptions = { mode: number; owner?: { uid: number; gid: number } | null; dirMode?: number };

/** Replaces `path` with `text` atomically, creating missing parent directories. */
export async function writeFileAtomic(path: string, text: string, options: WriteOptions): Promise<void> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o755 });
  if (options.owner) await fs.chown(dir, options.owner.uid, options.owner.gid).catch(() => undefined);
  const temp = join(dir, `.${basename(path)}.fleetdock-${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'wx', options.mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.chmod(options.mode);
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    await handle.close();
    await fs.rename(temp, path);
  } catch (error) {
    // Whatever failed (a write, the close, the rename), no temp file stays beside the target, and
    // a failed clean-up must not hide the cause.
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dir);
}

/** Removes `path` if it exists and makes the removal durable. */
export async function removeFileDurably(path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/** Writes `text` to `path`, or removes it when `text` is null. */
export async function putFile(path: string, text: string | null, options: WriteOptions): Promise<void> {
  if (text === null) await removeFileDurably(path);
  else await writeFileAtomic(path, text, options);
}
