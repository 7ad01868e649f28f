/**
 * lab/tar.ts: renders a ustar archive from a list of entries (directories, files, symlinks).
 *
 * Pure: bytes in, bytes out. Enough of ustar for an image layer; names must fit in 100 bytes.
 */

/** One archive member. Paths are relative (`bin/sh`), directories without a trailing slash. */
export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; content: Buffer }
  | { type: 'symlink'; path: string; target: string };

/** Fixed mtime for every member, so the same input always gives the same bytes (and digests). */
const MTIME = 1_700_000_000;

/** Renders `entries` in order as a ustar archive (owner root:root), ending with two zero blocks. */
export function renderTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = e.type === 'file' ? e.content : Buffer.alloc(0);
    const name = e.type === 'dir' ? `${e.path}/` : e.path;
    parts.push(
      renderHeader({
        name,
        mode: e.type === 'symlink' ? 0o777 : e.mode ?? (e.type === 'dir' ? 0o755 : 0o644),
        size: content.length,
        typeflag: e.type === 'file' ? '0' : e.type === 'symlink' ? '2' : '5',
        linkname: e.type === 'symlink' ? e.target : '',
      }),
    );
    if (content.length > 0) {
      parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function renderHeader(h: { name: string; mode: number; size: number; typeflag: string; linkname: string }): Buffer {
  if (Buffer.byteLength(h.name) > 100) throw new Error(`tar: name longer than 100 bytes: ${h.name}`);
  if (Buffer.byteLength(h.linkname) > 100) throw new Error(`tar: link target longer than 100 bytes: ${h.linkname}`);
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, h.mode);
  writeOctal(b, 108, 8, 0); // uid
  writeOctal(b, 116, 8, 0); // gid
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, MTIME);
  b.fill(' ', 148, 156); // checksum is computed with its own field as spaces
  b.write(h.typeflag, 156, 1, 'ascii');
  b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  b.write('root', 265, 32, 'ascii');
  b.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

/** Octal digits, zero-padded to `len - 1`, then NUL. */
function writeOctal(b: Buffer, offset: number, len: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > len - 1) throw new Error(`tar: ${value} does not fit in ${len - 1} octal digits`);
  b.write(digits.padStart(len - 1, '0') + '\0', offset, len, 'ascii');
}
