import { describe, expect, it } from 'vitest';
import { defaultStrategy, isFailureBudgetSpent, resolveAmount, resolveFailureBudget, StrategySchema, type Amount } from './strategy.js';

describe('resolveAmount', () => {
  it.each<[Amount, number, boolean, number]>([
    // counts: as given, capped at the fleet
    [1, 10, false, 1],
    [0, 10, false, 0],
    [15, 10, false, 10],
    [3, 0, false, 0],
    // percentages round up
    ['25%', 8, false, 2],
    ['25%', 9, false, 3],
    ['10%', 15, false, 2],
    ['1%', 1000, false, 10],
    ['1%', 1001, false, 11],
    ['1%', 3, false, 1],
    ['33%', 3, false, 1],
    ['34%', 3, false, 2],
    ['100%', 7, false, 7],
    ['0%', 7, false, 0],
    ['50%', 0, false, 0],
    // batch sizes are at least one host when there are hosts
    ['0%', 7, true, 1],
    [0, 7, true, 1],
    ['25%', 0, true, 0],
  ])('%j of %i hosts (at least one: %s) is %i', (amount, total, atLeastOne, expected) => {
    expect(resolveAmount(amount, total, atLeastOne)).toBe(expected);
  });
});

describe('the failure budget', () => {
  it.each<[Amount, number, number]>([
    [0, 10, 0],
    [2, 10, 2],
    ['10%', 10, 1],
    ['10%', 11, 2],
    ['0%', 100, 0],
  ])('%j of %i hosts tolerates %i failures', (failureBudget, total, allowed) => {
    expect(resolveFailureBudget({ failureBudget }, total)).toBe(allowed);
  });

  it.each([
    [0, 0, false],
    [1, 0, true],
    [2, 2, false],
    [3, 2, true],
  ])('%i failures with %i allowed: spent %s', (failed, allowed, spent) => {
    expect(isFailureBudgetSpent(failed, allowed)).toBe(spent);
  });
});

describe('StrategySchema', () => {
  it('fills the documented defaults', () => {
    expect(defaultStrategy()).toEqual({ canary: 1, batchSize: '25%', maxConcurrent: 50, failureBudget: 0, onHalt: 'rollback', offline: 'skip', resultTimeoutSeconds: 120 });
  });

  it.each([
    [{ canary: '101%' }, 'canary'],
    [{ canary: '5' }, 'canary'],
    [{ canary: -1 }, 'canary'],
    [{ batchSize: 0 }, 'batchSize'],
    [{ batchSize: '0%' }, 'batchSize'],
    [{ maxConcurrent: 0 }, 'maxConcurrent'],
    [{ failureBudget: 1.5 }, 'failureBudget'],
    [{ onHalt: 'pray' }, 'onHalt'],
    [{ offline: 'later' }, 'offline'],
    [{ resultTimeoutSeconds: 0 }, 'resultTimeoutSeconds'],
    [{ batch: 2 }, 'batch'],
  ])('refuses %j naming the field', (input, field) => {
    const result = StrategySchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(field);
  });
});
