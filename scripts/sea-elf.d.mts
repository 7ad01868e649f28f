/** Types of scripts/sea-elf.mjs (plain JavaScript, so the build needs no compiler) for the tests. */
import type { Buffer } from 'node:buffer';

export declare const SEA_FUSE: string;
export declare const SEA_NOTE_NAME: string;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

/** The ELF64 header fields used here and the program headers; throws for what it does not handle. */
export declare function readElfLayout(binary: Buffer): { type: number; phoff: number; headers: ProgramHeader[] };

/** A copy of a node binary that runs `blob` as a single executable application. */
export declare function injectSeaBlob(nodeBinary: Buffer, blob: Buffer): Buffer;
