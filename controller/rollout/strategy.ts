/**
 * A rollout's strategy: the schema an operator's request is parsed with, the defaults (in one place,
 * with their units), and the pure arithmetic that turns counts and percentages into host numbers.
 *
 * Rounding, everywhere: a percentage of N hosts is rounded UP (10% of 15 hosts = 2), so a percentage
 * above 0 never means zero hosts; a batch is at least one host; `0` / `"0%"` means none (no canary,
 * no failure allowed). A count larger than the fleet means all of it.
 */
import { z } from 'zod';

/** A number of hosts, or a percentage of the rollout's hosts written `"N%"` (0-100). */
const AmountSchema = z.union([
  z.number().int().min(0).max(1_000_000),
  z.string().regex(/^(100|[1-9]?\d)%$/, 'must be a whole number of hosts or a percentage such as "25%"'),
]);
export type Amount = z.infer<typeof AmountSchema>;

/** The defaults: one canary, then quarters, 50 at once, halt and roll back on the first failure. */
export const STRATEGY_DEFAULTS = Object.freeze({
  /** Hosts in the first batch, alone. */
  canary: 1 as Amount,
  /** Hosts per batch after the canary. */
  batchSize: '25%' as Amount,
  /** Hosts applying at the same time, at most. */
  maxConcurrent: 50,
  /** Failed hosts tolerated; one more halts the rollout. */
  failureBudget: 0 as Amount,
  /** What a halt does to the hosts already moved: `rollback` sets them back, `stop` leaves them. */
  onHalt: 'rollback' as 'stop' | 'rollback',
  /** Hosts offline when their batch comes: `skip` (they converge when back) or `wait` for them. */
  offline: 'skip' as 'wait' | 'skip',
  /** How long a started host may take to report a verified result, in seconds. */
  resultTimeoutSeconds: 120,
});

/** The strategy as an operator gives it: every field optional, defaults filled in. */
export const StrategySchema = z.strictObject({
  canary: AmountSchema.default(STRATEGY_DEFAULTS.canary),
  batchSize: AmountSchema.refine((a) => a !== 0 && a !== '0%', 'a batch needs at least one host').default(STRATEGY_DEFAULTS.batchSize),
  maxConcurrent: z.number().int().min(1).max(1_000_000).default(STRATEGY_DEFAULTS.maxConcurrent),
  failureBudget: AmountSchema.default(STRATEGY_DEFAULTS.failureBudget),
  onHalt: z.enum(['stop', 'rollback']).default(STRATEGY_DEFAULTS.onHalt),
  offline: z.enum(['wait', 'skip']).default(STRATEGY_DEFAULTS.offline),
  resultTimeoutSeconds: z.number().int().min(1).max(86_400).default(STRATEGY_DEFAULTS.resultTimeoutSeconds),
});
export type Strategy = z.output<typeof StrategySchema>;
export type StrategyInput = z.input<typeof StrategySchema>;

/** The strategy with every default, for a request that gave none. */
export function defaultStrategy(): Strategy {
  return StrategySchema.parse({});
}

/**
 * How many of `total` hosts `amount` means: a count is capped at `total`; a percentage is rounded up.
 * `atLeastOne` (batch sizes) turns 0 into 1 when there are hosts.
 */
export function resolveAmount(amount: Amount, total: number, atLeastOne = false): number {
  let count: number;
  if (typeof amount === 'number') {
    count = Math.min(amount, total);
  } else {
    const percent = Number(amount.slice(0, -1));
    count = Math.floor((total * percent + 99) / 100); // integer ceil(total * percent / 100)
  }
  return atLeastOne && total > 0 ? Math.max(1, count) : count;
}

/** How many failed hosts the strategy tolerates among `total`; one more spends the budget. */
export function resolveFailureBudget(strategy: Pick<Strategy, 'failureBudget'>, total: number): number {
  return resolveAmount(strategy.failureBudget, total);
}

/** Whether `failed` failures spend a budget of `allowed` (the budget is what may fail; one more halts). */
export function isFailureBudgetSpent(failed: number, allowed: number): boolean {
  return failed > allowed;
}
