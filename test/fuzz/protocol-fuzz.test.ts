/**
 * Fuzzes the protocol's parsers (agent -> controller, controller -> agent) and SettingsSchema (at the
 * API's edge, through parseInput) with malformed inputs from a seeded generator. Each input must parse
 * to a value the schema accepts (and that parses again to itself), or throw a FleetdockError with a
 * catalogue code and a message that fits the wire's error body; nothing else, no slow input, no
 * prototype pollution, bounded heap. FLEETDOCK_FUZZ_SEED / FLEETDOCK_FUZZ_COUNT pick seed and count.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseInput } from '../../controller/api/validate.js';
import { FleetdockError, isErrorCode } from '../../protocol/errors.js';
import { AgentMessageSchema, ControllerMessageSchema, MAX_MESSAGE_BYTES, parseAgentMessage, parseControllerMessage } from '../../protocol/messages.js';
import { SettingsSchema } from '../../protocol/settings.js';
import { fuzzCount, fuzzSeed, malformed, Rng } from './generate.js';
import { AGENT_MESSAGES, CONTROLLER_MESSAGES, SETTINGS } from './samples.js';

/** The longest error message the wire's error body (ErrorBodySchema) carries. */
const MAX_ERROR_MESSAGE = 4096;
/**
 * No single input may take longer than this (a regex gone quadratic took 15 s on one input). Generous:
 * a normal input takes well under a millisecond, but the machine may be busy and a gc may land on one.
 */
const MAX_INPUT_MS = 1_000;
/** Heap growth tolerated over the whole run (after a gc). */
const MAX_HEAP_GROWTH_BYTES = 64 * 1024 * 1024;

/** `global.gc`, exposed at runtime when node was not started with --expose-gc. */
function getGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Whether any object in `value` has a prototype other than Object's or Array's, or an own `__proto__`. */
function hasOddPrototype(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== Array.prototype) return true;
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) return true;
    stack.push(...Object.values(v));
  }
  return false;
}

function prototypeSnapshot(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join(','));
}

interface Target {
  name: string;
  make(rng: Rng): string | Buffer;
  parse(input: string | Buffer): unknown;
  schema: z.ZodType;
  /** Parses a serialised good output again. */
  reparse(text: string): unknown;
}

const asValue = (input: string | Buffer): unknown => {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: the raw text is the (wrong) value
  }
};

const TARGETS: Target[] = [
  {
    name: 'agent',
    make: (rng) => malformed(rng, rng.chance(0.95) ? rng.pick(AGENT_MESSAGES) : rng.pick(CONTROLLER_MESSAGES), { keepTypeOften: true }),
    parse: parseAgentMessage,
    schema: AgentMessageSchema,
    reparse: parseAgentMessage,
  },
  {
    name: 'controller',
    make: (rng) => malformed(rng, rng.chance(0.95) ? rng.pick(CONTROLLER_MESSAGES) : rng.pick(AGENT_MESSAGES), { keepTypeOften: true }),
    parse: parseControllerMessage,
    schema: ControllerMessageSchema,
    reparse: parseControllerMessage,
  },
  {
    name: 'settings',
    // The API refuses bodies over its limit before parsing: the schema only ever sees smaller ones.
    make: (rng) => {
      for (;;) {
        const input = malformed(rng, SETTINGS);
        if (Buffer.byteLength(input) <= MAX_MESSAGE_BYTES) return input;
      }
    },
    parse: (input) => parseInput(SettingsSchema, asValue(input)),
    schema: SettingsSchema,
    reparse: (text) => parseInput(SettingsSchema, JSON.parse(text)),
  },
];

function describeInput(input: string | Buffer): string {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  return `${typeof input === 'string' ? 'text' : 'bytes'} of ${text.length}: ${JSON.stringify(text.slice(0, 200))}`;
}

describe('protocol fuzz', () => {
  it('every malformed input parses to a valid value or throws a catalogued FleetdockError', () => {
    const seed = fuzzSeed();
    const count = fuzzCount(100_000);
    const rng = new Rng(seed);
    const gc = getGc();
    const prototypesBefore = prototypeSnapshot();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();

    const failures: string[] = [];
    const codes: Record<string, number> = {};
    let accepted = 0;
    let slowest = { ms: 0, index: -1, target: '', input: '' };
    for (let i = 0; i < count; i++) {
      const target = TARGETS[i % TARGETS.length]!;
      const input = target.make(rng);
      const t0 = performance.now();
      let problem: string | null = null;
      try {
        const value = target.parse(input);
        accepted++;
        if (!target.schema.safeParse(value).success) problem = 'accepted a value its own schema refuses';
        else if (hasOddPrototype(value)) problem = 'accepted value has an odd prototype or an own __proto__';
        // Compared as JSON: -0 is written as 0, and that is the only form the wire knows.
        else if (JSON.stringify(target.reparse(JSON.stringify(value))) !== JSON.stringify(value)) problem = 'accepted value does not parse again to itself';
      } catch (error) {
        if (!(error instanceof FleetdockError)) problem = `threw ${(error as Error)?.name}: ${String((error as Error)?.message).slice(0, 200)}`;
        else if (!isErrorCode(error.code)) problem = `FleetdockError with unknown code ${String(error.code)}`;
        else if (typeof error.message !== 'string' || error.message.length > MAX_ERROR_MESSAGE) problem = `${error.code} message of ${error.message.length} characters (max ${MAX_ERROR_MESSAGE})`;
        else codes[`${target.name}:${error.code}`] = (codes[`${target.name}:${error.code}`] ?? 0) + 1;
      }
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { ms, index: i, target: target.name, input: describeInput(input) };
      if (problem && failures.length < 10) failures.push(`#${i} ${target.name}: ${problem}; input ${describeInput(input)}`);
      else if (problem) failures.push('');
    }

    const seconds = (performance.now() - started) / 1000;
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.log(`fuzz protocol: seed=${seed} inputs=${count} accepted=${accepted} seconds=${seconds.toFixed(1)} slowest=${slowest.ms.toFixed(1)}ms heapGrowth=${Math.round(heapGrowth / 1024)}KiB`);
    console.log(`fuzz protocol: codes ${JSON.stringify(codes)}`);

    expect(failures.filter(Boolean), `${failures.length} bad outcomes (seed=${seed})`).toEqual([]);
    expect(slowest.ms, `slowest input #${slowest.index} (${slowest.target}, seed=${seed}): ${slowest.input}`).toBeLessThan(MAX_INPUT_MS);
    expect(prototypeSnapshot()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
    // Every parser must have refused most inputs (the generator really produces malformed ones).
    expect(accepted).toBeLessThan(count / 2);
  });
});
