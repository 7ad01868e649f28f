import { describe, expect, it } from 'vitest';
import { planBatches, type PlanHost } from './plan-batches.js';
import type { Amount } from './strategy.js';

const up = (...names: string[]): PlanHost[] => names.map((name) => ({ name, connected: true }));
const hosts = (n: number): PlanHost[] => up(...Array.from({ length: n }, (_, i) => `h${String(i + 1).padStart(2, '0')}`));

describe('planBatches', () => {
  it.each<[string, PlanHost[], Amount, Amount, string[][]]>([
    ['one canary, then quarters (the defaults)', hosts(8), 1, '25%', [['h01'], ['h02', 'h03'], ['h04', 'h05'], ['h06', 'h07'], ['h08']]],
    ['no canary', hosts(4), 0, 2, [['h01', 'h02'], ['h03', 'h04']]],
    ['a percentage canary rounds up', hosts(10), '15%', 5, [['h01', 'h02'], ['h03', 'h04', 'h05', 'h06', 'h07'], ['h08', 'h09', 'h10']]],
    ['a batch percentage rounds up', hosts(5), 1, '30%', [['h01'], ['h02', 'h03'], ['h04', 'h05']]],
    ['a tiny percentage is still one host', hosts(3), 1, '1%', [['h01'], ['h02'], ['h03']]],
    ['one batch of 100%', hosts(3), 0, '100%', [['h01', 'h02', 'h03']]],
    ['a canary bigger than the fleet takes all of it', hosts(2), 5, 1, [['h01', 'h02']]],
    ['a single host is the canary', hosts(1), 1, '25%', [['h01']]],
    ['no hosts, no batches', [], 1, '25%', []],
    ['hosts in name order whatever the input order', up('c', 'a', 'b'), 1, 1, [['a'], ['b'], ['c']]],
  ])('%s', (_name, input, canary, batchSize, expected) => {
    expect(planBatches(input, { canary, batchSize }).batches).toEqual(expected);
  });

  it('picks a connected host that would change as the canary; offline hosts keep their place in the batches', () => {
    const plan = planBatches(
      [
        { name: 'a', connected: false },
        { name: 'b', connected: true, changes: false },
        { name: 'c', connected: true },
        { name: 'd', connected: false },
      ],
      { canary: 1, batchSize: 2 },
    );
    expect(plan).toEqual({ batches: [['c'], ['a', 'b'], ['d']], canary: true, canarySize: 1, batchSize: 2 });
  });

  it('takes an offline host as canary only when no connected one is left', () => {
    const plan = planBatches([{ name: 'a', connected: false }, { name: 'b', connected: true }], { canary: 2, batchSize: 1 });
    expect(plan.batches).toEqual([['b', 'a']]);
  });
});
