// scripts/sea-elf.mjs, the postject replacement, on the node binary that runs the tests: the layout
// rules the kernel and glibc need (checked here because the lab's kernel is new, and Linux before 5.18
// computes AT_PHDR differently), and clear refusals for what it cannot handle.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { injectSeaBlob, readElfLayout, SEA_FUSE, SEA_NOTE_NAME, type ProgramHeader } from '../../scripts/sea-elf.mjs';

const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_PHDR = 6;

describe.skipIf(process.platform !== 'linux')('injectSeaBlob on this node binary', () => {
  const blob = Buffer.from('a blob of 21 bytes...');
  let node: Buffer;
  let out: Buffer;
  let before: ReturnType<typeof readElfLayout>;
  let after: ReturnType<typeof readElfLayout>;
  let loads: ProgramHeader[];
  let first: ProgramHeader;
  beforeAll(() => {
    node = readFileSync(process.execPath);
    out = injectSeaBlob(node, blob);
    before = readElfLayout(node);
    after = readElfLayout(out);
    loads = after.headers.filter((h) => h.type === PT_LOAD);
    first = loads.reduce((a, b) => (b.offset < a.offset ? b : a));
  });

  it('leaves every byte of the original in place except the fuse and the header table fields', () => {
    const fuse = node.indexOf(`${SEA_FUSE}:0`);
    const changed: number[] = [];
    for (let i = 0; i < node.length; i++) if (node[i] !== out[i]) changed.push(i);
    // e_phoff (0x20..0x27), e_phnum (0x38), the fuse's last byte.
    expect(changed.every((i) => (i >= 0x20 && i < 0x28) || i === 0x38 || i === fuse + SEA_FUSE.length + 1)).toBe(true);
    expect(out.subarray(fuse, fuse + SEA_FUSE.length + 2).toString()).toBe(`${SEA_FUSE}:1`);
  });

  it('maps the moved header table where either kernel formula for AT_PHDR points, and PT_PHDR says the same', () => {
    expect(after.headers.length).toBe(before.headers.length + 2);
    const phdr = after.headers.find((h) => h.type === PT_PHDR)!;
    // Linux < 5.18: AT_PHDR = (first PT_LOAD's vaddr - offset) + e_phoff.
    expect(first.vaddr - first.offset + after.phoff).toBe(phdr.vaddr);
    // Linux >= 5.18: the PT_LOAD whose file range holds e_phoff, translated to its address.
    const holder = loads.find((h) => h.offset <= after.phoff && after.phoff < h.offset + h.filesz)!;
    expect(holder.vaddr + (after.phoff - holder.offset)).toBe(phdr.vaddr);
    // The new segment is page-aligned, read-only, and above everything mapped before (bss included).
    const added = loads[loads.length - 1]!;
    expect(added).toBe(holder);
    expect(added.flags).toBe(4);
    expect(added.offset % added.align).toBe(added.vaddr % added.align);
    const highest = Math.max(...before.headers.filter((h) => h.type === PT_LOAD).map((h) => h.vaddr + h.memsz));
    expect(added.vaddr).toBeGreaterThanOrEqual(highest);
  });

  it('holds the blob in a NODE_SEA_BLOB note inside that loaded segment, as postject_find_resource reads it', () => {
    const note = after.headers.filter((h) => h.type === PT_NOTE).at(-1)!;
    const added = loads[loads.length - 1]!;
    expect(note.vaddr).toBeGreaterThanOrEqual(added.vaddr);
    expect(note.vaddr + note.memsz).toBeLessThanOrEqual(added.vaddr + added.memsz);
    const namesz = out.readUInt32LE(note.offset);
    const descsz = out.readUInt32LE(note.offset + 4);
    expect(out.subarray(note.offset + 12, note.offset + 12 + namesz).toString('latin1')).toBe(`${SEA_NOTE_NAME}\0`);
    expect(descsz).toBe(blob.length);
    const desc = note.offset + 12 + Math.ceil(namesz / 4) * 4;
    expect(out.subarray(desc, desc + descsz)).toEqual(blob);
  });
});

describe('injectSeaBlob refuses what it cannot make a single executable of', () => {
  it.each([
    ['a text file', Buffer.from('#!/bin/sh\necho hello\n'), 'not an ELF file'],
    ['a 32-bit ELF', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1]), Buffer.alloc(58)]), 'only 64-bit little-endian ELF'],
  ])('%s', (_what, binary, message) => {
    expect(() => injectSeaBlob(binary, Buffer.from('blob'))).toThrow(message);
  });

  it.skipIf(process.platform !== 'linux')('a binary that already is a single executable (fuse flipped)', () => {
    const once = injectSeaBlob(readFileSync(process.execPath), Buffer.from('blob'));
    expect(() => injectSeaBlob(once, Buffer.from('blob'))).toThrow('already is a single executable');
  });

  it.skipIf(process.platform !== 'linux')('an ELF that is not node (no fuse)', () => {
    expect(() => injectSeaBlob(readFileSync('/bin/sh'), Buffer.from('blob'))).toThrow(`no ${SEA_FUSE}`);
  });
});
