/**
 * The fuzzers' input generator: a seeded PRNG and mutations of valid messages and bodies (byte flips,
 * truncation, huge strings, deep nesting, `__proto__` / `constructor` / `prototype` keys at every
 * level, invalid UTF-8, odd numbers, arrays where objects go, unknown fields, oversized payloads,
 * control characters and U+2028 in string fields). Deterministic for a seed; no I/O. Test code only.
 */
import { MAX_MESSAGE_BYTES } from '../../protocol/messages.js';

/** The seed from FLEETDOCK_FUZZ_SEED (decimal or 0x hex), else a fixed default. */
export function fuzzSeed(fallback = 0x5eed_f1ee): number {
  const raw = process.env.FLEETDOCK_FUZZ_SEED;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`FLEETDOCK_FUZZ_SEED=${raw} is not an integer`);
  return n >>> 0;
}

/** The input count from FLEETDOCK_FUZZ_COUNT, else `fallback`. */
export function fuzzCount(fallback: number): number {
  const raw = process.env.FLEETDOCK_FUZZ_COUNT;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FLEETDOCK_FUZZ_COUNT=${raw} is not a positive integer`);
  return n;
}

/** A small deterministic PRNG (mulberry32). */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
}

/** JSON text inserted verbatim by `serialize` (numbers JSON.stringify cannot write, deep nesting). */
export class Raw {
  constructor(readonly text: string) {}
}

const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Characters that must never get into a value unescaped: controls, separators, quotes, escapes. */
export const NASTY_CHARS = ['\n', '\r', '\t', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', '"', "'", '`', '\\', '%', ' ', '\ud800', '\udfff'];

const SNIPPETS = ['//a:', '@', 'a', '.', ':', '/', '%', '%%', '%n', 'http://', '[', ']', '::', '*.', '0', '9', 'x-', '\\', '"', '\u2028', ',', '${x}', '../', 'é', '😀'];

const NASTY_STRINGS = [
  '',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e308',
  'null',
  'true',
  '[]',
  '{}',
  'http://a b',
  'http://u:p@h',
  'http://h/\npath',
  'https://x\u2028y',
  'ftp://x',
  'http://[::1',
  'http://0x7f.1',
  '10.0.0.0/99',
  'fd00::/129',
  '%0d%0aX-Injected: 1',
  'a\r\nEnvironment=EVIL=1',
  '\ud800',
];

/** A size in [min, max), log-uniform: mostly small, now and then close to max. */
export function logSize(rng: Rng, min: number, max: number): number {
  return Math.floor(Math.exp(Math.log(min) + rng.next() * (Math.log(max) - Math.log(min))));
}

/** A string of `length` characters made by repeating a few random snippets. */
export function hugeString(rng: Rng, length: number): string {
  const unit = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(SNIPPETS)).join('');
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** Nesting `depth` levels deep, as verbatim JSON text (arrays, objects, or `__proto__` objects). */
export function deepNesting(rng: Rng, depth: number): Raw {
  // Past 20,000 levels only arrays stay under the size limit; deeper objects would only test the limit.
  switch (depth > 20_000 ? 0 : rng.int(3)) {
    case 0:
      return new Raw('['.repeat(depth) + ']'.repeat(depth));
    case 1:
      return new Raw('{"a":'.repeat(depth) + 'null' + '}'.repeat(depth));
    default:
      return new Raw('{"__proto__":'.repeat(depth) + '{"polluted":true}' + '}'.repeat(depth));
  }
}

/** A value that is wrong almost anywhere; `big` allows huge strings, deep nests and long lists. */
export function evilValue(rng: Rng, big = false): unknown {
  switch (rng.int(14)) {
    case 0:
      return new Raw(rng.pick(['1e308', '-1e308', '1e400', '-0', '5e-324', '9007199254740993', '-1', '0', '1.5', '123456789012345678901234567890']));
    case 1:
      return rng.pick(NASTY_STRINGS);
    case 2:
      return big ? hugeString(rng, logSize(rng, 1_000, 200_000)) : hugeString(rng, logSize(rng, 1, 2_100));
    case 3:
      return big ? deepNesting(rng, rng.chance(0.9) ? 10_000 : 100_000) : deepNesting(rng, logSize(rng, 2, 64));
    case 4:
      return rng.pick([true, false, null]);
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return [rng.pick(NASTY_STRINGS), 1, null];
    case 8:
      return withKey({}, rng.pick(DANGEROUS_KEYS), { polluted: true });
    case 9:
      return rng.pick(NASTY_STRINGS) + rng.pick(NASTY_CHARS);
    case 10:
      return Array.from({ length: big ? logSize(rng, 65, 3_000) : logSize(rng, 1, 70) }, (_, i) => `r${i}.example`);
    case 11:
      return new Raw(`"${rng.pick(['\\ud800', '\\udc00x', '\\u0000', '\\u2028'])}"`);
    case 12:
      return -rng.int(1000);
    default:
      return String(rng.int(100_000));
  }
}

/** Sets `key` as an own enumerable property (even `__proto__`, which `obj[key] =` would not). */
export function withKey<T extends object>(obj: T, key: string, value: unknown): T {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

/** Serialises like JSON.stringify but writes Raw verbatim and never recurses (deep values are Raw). */
export function serialize(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((k) => `${JSON.stringify(k)}:${serialize((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

type Node = { parent: Record<string, unknown> | unknown[]; key: string | number; value: unknown };

/** Every node below `root` (not Raw ones). */
function nodes(root: unknown): Node[] {
  const out: Node[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current instanceof Raw || current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      current.forEach((v, i) => {
        out.push({ parent: current, key: i, value: v });
        stack.push(v);
      });
    } else {
      for (const k of Object.keys(current)) {
        const v = (current as Record<string, unknown>)[k];
        out.push({ parent: current as Record<string, unknown>, key: k, value: v });
        stack.push(v);
      }
    }
  }
  return out;
}

function objects(root: unknown): Record<string, unknown>[] {
  const all = [root, ...nodes(root).map((n) => n.value)];
  return all.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Raw));
}

function setNode(node: Node, value: unknown): void {
  if (Array.isArray(node.parent)) node.parent[node.key as number] = value;
  else withKey(node.parent, node.key as string, value);
}

/** Applies one structural mutation to `root` (a fresh copy) and returns the result. */
function mutateValue(rng: Rng, root: unknown, keepType: boolean, big: boolean): unknown {
  const all = nodes(root).filter((n) => !(keepType && n.key === 'type' && n.parent === root));
  switch (rng.int(10)) {
    case 0: // a node replaced by something evil
    case 1: {
      if (all.length === 0) return evilValue(rng, big);
      setNode(rng.pick(all), evilValue(rng, big));
      return root;
    }
    case 2: {
      // a key removed
      const node = rng.pick(all.length ? all : [{ parent: {}, key: 'x', value: 0 }]);
      if (Array.isArray(node.parent)) node.parent.splice(node.key as number, 1);
      else delete node.parent[node.key as string];
      return root;
    }
    case 3: {
      // an unknown field (or a dangerous one) somewhere
      const target = rng.pick(objects(root).length ? objects(root) : [{}]);
      withKey(target, rng.pick(['extra', 'Type', 'type ', '__proto__', 'constructor', 'prototype', hugeString(rng, big ? logSize(rng, 1, 100_000) : logSize(rng, 1, 100))]), evilValue(rng, big));
      return root;
    }
    case 4: {
      // `__proto__`, `constructor` and `prototype` at every level
      for (const o of objects(root)) withKey(o, rng.pick(DANGEROUS_KEYS), rng.chance(0.5) ? { polluted: true, toString: 'x', hasOwnProperty: 1 } : evilValue(rng, false));
      return root;
    }
    case 5: {
      // control characters / U+2028 in every string field
      for (const n of all) if (typeof n.value === 'string') setNode(n, n.value + rng.pick(NASTY_CHARS) + (rng.chance(0.5) ? n.value : ''));
      return root;
    }
    case 6: {
      // an array where an object goes (or the other way round)
      const containers = all.filter((n) => n.value !== null && typeof n.value === 'object' && !(n.value instanceof Raw));
      if (containers.length === 0 || rng.chance(0.2)) return [root];
      const node = rng.pick(containers);
      setNode(node, Array.isArray(node.value) ? Object.assign({}, node.value) : Object.values(node.value as object));
      return root;
    }
    case 7: {
      // a number field given an odd number or a number written as a string
      const numbers = all.filter((n) => typeof n.value === 'number' || n.value === null);
      if (numbers.length === 0) return root;
      setNode(rng.pick(numbers), rng.chance(0.5) ? new Raw(rng.pick(['1e308', '-0', '1e400', '-1', '0.5', '9007199254740993'])) : rng.pick(['NaN', '-0', '1e308', 'Infinity', '1']));
      return root;
    }
    case 8: {
      // a list made long
      const arrays = all.filter((n) => Array.isArray(n.value));
      if (arrays.length === 0) return root;
      const node = rng.pick(arrays);
      const item = (node.value as unknown[])[0] ?? 'x';
      setNode(node, Array.from({ length: big ? logSize(rng, 1, 3_000) : logSize(rng, 1, 300) }, (_, i) => (typeof item === 'string' ? `${item}${i}` : item)));
      return root;
    }
    default: {
      // a deep nest where a value goes
      const depth = big ? (rng.chance(0.9) ? 10_000 : 100_000) : logSize(rng, 2, 200);
      if (all.length === 0) return deepNesting(rng, depth);
      setNode(rng.pick(all), deepNesting(rng, depth));
      return root;
    }
  }
}

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3]];

/** Applies one byte-level mutation. */
function mutateBytes(rng: Rng, bytes: Buffer): Buffer {
  switch (rng.int(7)) {
    case 0: {
      const out = Buffer.from(bytes);
      for (let i = 1 + rng.int(8); i > 0 && out.length > 0; i--) {
        const at = rng.int(out.length);
        out[at] = out[at]! ^ (1 << rng.int(8));
      }
      return out;
    }
    case 1:
      return bytes.subarray(0, rng.int(bytes.length + 1));
    case 2: {
      // invalid UTF-8 inside a string or anywhere
      const at = rng.chance(0.7) ? Math.max(0, bytes.indexOf(0x22, rng.int(bytes.length)) + 1) : rng.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(rng.pick(INVALID_UTF8)), bytes.subarray(at)]);
    }
    case 3: {
      const at = rng.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))), bytes.subarray(at)]);
    }
    case 4: {
      const a = rng.int(bytes.length + 1);
      const b = a + rng.int(bytes.length - a + 1);
      return Buffer.concat([bytes.subarray(0, b), bytes.subarray(a, b), bytes.subarray(b)]);
    }
    case 5: {
      const a = rng.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, a), bytes.subarray(a + 1 + rng.int(32))]);
    }
    default:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  }
}

/** A payload just over the message limit: whitespace padding, or one huge string. */
export function oversized(rng: Rng, base: unknown): Buffer {
  const size = MAX_MESSAGE_BYTES + 1 + rng.int(64 * 1024);
  if (rng.chance(0.5)) {
    const text = serialize(base);
    return Buffer.concat([Buffer.from(text), Buffer.alloc(Math.max(0, size - text.length), 0x20)]);
  }
  const copy = structuredClone(base) as Record<string, unknown>;
  const target = objects(copy).length ? rng.pick(objects(copy)) : {};
  withKey(target, rng.pick(['detail', 'message', 'name', 'extra']), hugeString(rng, size));
  return Buffer.from(serialize(copy));
}

/**
 * One malformed input made from `base` (a valid message or body): 1-3 structural mutations, then
 * sometimes byte-level ones; now and then an oversized payload. A string or a Buffer (Buffers may hold
 * invalid UTF-8).
 */
export function malformed(rng: Rng, base: unknown, options: { keepTypeOften?: boolean } = {}): string | Buffer {
  if (rng.chance(0.01)) return oversized(rng, base);
  const value = malformedValue(rng, base, options);
  const text = serialize(value);
  // Mutations can multiply a big value (a long list of deep nests): past the limit, one oversized
  // payload is as good as another, so keep it just over the limit.
  if (text.length > MAX_INPUT_CHARS) return oversized(rng, base);
  if (!rng.chance(0.3)) return text;
  let bytes: Buffer = Buffer.from(text);
  for (let i = 1 + rng.int(2); i > 0; i--) bytes = mutateBytes(rng, bytes);
  return bytes;
}

/** The structural mutations of `malformed` alone: a value (with Raw parts) for `serialize`. */
export function malformedValue(rng: Rng, base: unknown, options: { keepTypeOften?: boolean } = {}): unknown {
  // A JSON round trip copies the plain samples faster than structuredClone.
  let value: unknown = JSON.parse(JSON.stringify(base));
  const keepType = options.keepTypeOften === true && rng.chance(0.8);
  // One input in fifty may be big (huge strings, 10,000-deep nests, long lists): 2,000 of them in a
  // 100,000 run, few enough to keep the run fast (a big one costs as much as a hundred small ones).
  const big = rng.chance(0.02);
  for (let i = 1 + rng.int(3); i > 0; i--) value = mutateValue(rng, value, keepType, big);
  return value;
}

/** Inputs longer than this are replaced by an `oversized` one. */
const MAX_INPUT_CHARS = MAX_MESSAGE_BYTES + 64 * 1024;
