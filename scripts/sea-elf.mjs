/**
 * Turns a Linux `node` binary (ELF64, little-endian) plus a single-executable-application blob into a
 * Node single executable, without postject. Pure: bytes in, bytes out; the caller reads and writes files.
 *
 * What Node looks for at start-up (src/node_sea.cc and postject-api.h in Node 20):
 * - the fuse `NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:0` flipped to `:1`;
 * - an ELF note named `NODE_SEA_BLOB` in a PT_NOTE segment of the *running* image: postject_find_resource
 *   walks the main program's headers through dl_iterate_phdr and reads the note from memory, so the
 *   note must also lie inside a PT_LOAD segment.
 *
 * How: one new read-only PT_LOAD appended at the end of the file holds a copy of the program header
 * table (two entries longer: that PT_LOAD and a PT_NOTE) followed by the note. The header table moves
 * because there is no room to grow it in place. Its new place is mapped at `file offset + (vaddr -
 * offset of the first PT_LOAD)`, so AT_PHDR is right whether the kernel computes it as `load_addr +
 * e_phoff` (before Linux 5.18) or from the PT_LOAD that holds e_phoff (5.18 and later), and PT_PHDR
 * says the same, so glibc's load bias is right too. Nothing else in the file moves.
 *
 * Must not: touch the file system, or accept a binary it does not understand (it throws instead).
 */

/** The fuse Node checks; the last byte says whether a blob was injected. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The note name postject uses and Node 20 looks up. */
export const SEA_NOTE_NAME = 'NODE_SEA_BLOB';

const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_PHDR = 6;
const PF_R = 4;
const PHDR_SIZE = 56;

const alignUp = (value, alignment) => Math.ceil(value / alignment) * alignment;

/**
 * Reads the ELF64 header and program headers of `binary`. Throws when it is not a little-endian
 * ELF64 executable or shared object.
 * @param {Buffer} binary
 */
export function readElfLayout(binary) {
  if (binary.length < 64 || binary.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (binary[4] !== 2 || binary[5] !== 1) throw new Error('only 64-bit little-endian ELF is supported');
  const type = binary.readUInt16LE(0x10);
  if (type !== 2 && type !== 3) throw new Error(`ELF type ${type} is neither an executable nor a shared object`);
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  if (phentsize !== PHDR_SIZE) throw new Error(`unexpected program header size ${phentsize}`);
  if (phoff + phnum * PHDR_SIZE > binary.length) throw new Error('program headers run past the end of the file');
  const headers = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    headers.push({
      type: binary.readUInt32LE(at),
      flags: binary.readUInt32LE(at + 4),
      offset: Number(binary.readBigUInt64LE(at + 8)),
      vaddr: Number(binary.readBigUInt64LE(at + 16)),
      paddr: Number(binary.readBigUInt64LE(at + 24)),
      filesz: Number(binary.readBigUInt64LE(at + 32)),
      memsz: Number(binary.readBigUInt64LE(at + 40)),
      align: Number(binary.readBigUInt64LE(at + 48)),
    });
  }
  return { type, phoff, headers };
}

function writeProgramHeader(target, at, h) {
  target.writeUInt32LE(h.type, at);
  target.writeUInt32LE(h.flags, at + 4);
  target.writeBigUInt64LE(BigInt(h.offset), at + 8);
  target.writeBigUInt64LE(BigInt(h.vaddr), at + 16);
  target.writeBigUInt64LE(BigInt(h.paddr), at + 24);
  target.writeBigUInt64LE(BigInt(h.filesz), at + 32);
  target.writeBigUInt64LE(BigInt(h.memsz), at + 40);
  target.writeBigUInt64LE(BigInt(h.align), at + 48);
}

/** An ELF note: namesz, descsz, type, name (NUL-terminated, padded to 4), desc (padded to 4). */
function renderNote(name, desc) {
  const nameBytes = Buffer.from(`${name}\0`, 'latin1');
  const note = Buffer.alloc(12 + alignUp(nameBytes.length, 4) + alignUp(desc.length, 4));
  note.writeUInt32LE(nameBytes.length, 0);
  note.writeUInt32LE(desc.length, 4);
  note.writeUInt32LE(0, 8);
  nameBytes.copy(note, 12);
  desc.copy(note, 12 + alignUp(nameBytes.length, 4));
  return note;
}

/**
 * A copy of `nodeBinary` that runs `blob` (from `node --experimental-sea-config`) as a single
 * executable application. Throws when the binary has no unflipped fuse (not a Node binary, or one
 * that already carries a blob) or an ELF layout this does not handle.
 * @param {Buffer} nodeBinary
 * @param {Buffer} blob
 * @returns {Buffer}
 */
export function injectSeaBlob(nodeBinary, blob) {
  if (blob.length === 0) throw new Error('the SEA blob is empty');
  const layout = readElfLayout(nodeBinary);
  const fuseAt = nodeBinary.indexOf(`${SEA_FUSE}:`, 0, 'latin1');
  if (fuseAt < 0) throw new Error(`no ${SEA_FUSE} in the binary: not a Node.js binary with single-executable support`);
  if (nodeBinary.indexOf(`${SEA_FUSE}:`, fuseAt + 1, 'latin1') >= 0) throw new Error(`${SEA_FUSE} occurs twice in the binary`);
  const fuseState = String.fromCharCode(nodeBinary[fuseAt + SEA_FUSE.length + 1]);
  if (fuseState !== '0') throw new Error('the binary already is a single executable (its fuse is flipped); start from a plain node binary');

  const loads = layout.headers.filter((h) => h.type === PT_LOAD);
  if (loads.length === 0) throw new Error('the binary has no PT_LOAD segment');
  const first = loads.reduce((a, b) => (b.offset < a.offset ? b : a));
  const bias = first.vaddr - first.offset;
  const pageAlign = Math.max(4096, ...loads.map((h) => h.align));
  const endOfImage = Math.max(...loads.map((h) => h.vaddr + h.memsz));
  // File offset of the new segment: past the file and, mapped with the first segment's bias, past
  // the highest address already used (bss included).
  const offset = Math.max(alignUp(nodeBinary.length, pageAlign), alignUp(endOfImage - bias, pageAlign));
  const vaddr = offset + bias;

  const tableSize = (layout.headers.length + 2) * PHDR_SIZE;
  const noteOffset = alignUp(tableSize, 8);
  const note = renderNote(SEA_NOTE_NAME, blob);
  const segmentSize = noteOffset + note.length;
  const headers = layout.headers.map((h) =>
    h.type === PT_PHDR ? { ...h, offset, vaddr, paddr: vaddr, filesz: tableSize, memsz: tableSize } : h,
  );
  headers.push({ type: PT_LOAD, flags: PF_R, offset, vaddr, paddr: vaddr, filesz: segmentSize, memsz: segmentSize, align: pageAlign });
  headers.push({ type: PT_NOTE, flags: PF_R, offset: offset + noteOffset, vaddr: vaddr + noteOffset, paddr: vaddr + noteOffset, filesz: note.length, memsz: note.length, align: 4 });

  const out = Buffer.alloc(offset + segmentSize);
  nodeBinary.copy(out, 0);
  out[fuseAt + SEA_FUSE.length + 1] = '1'.charCodeAt(0);
  out.writeBigUInt64LE(BigInt(offset), 0x20);
  out.writeUInt16LE(headers.length, 0x38);
  headers.forEach((h, i) => writeProgramHeader(out, offset + i * PHDR_SIZE, h));
  note.copy(out, offset + noteOffset);
  return out;
}
