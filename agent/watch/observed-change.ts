/**
 * Pure: whether an observed state differs from the last one reported, ignoring when it was taken
 * (`at`). The agent reports observed state only when this says so, so a quiet host sends nothing.
 */
import type { ObservedState } from '../../protocol/observed.js';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A text equal for two observed states exactly when they say the same, whenever they were taken. */
export function observedKey(observed: ObservedState): string {
  const { at: _at, ...rest } = observed;
  return JSON.stringify(canonical(rest));
}

/** Whether `next` says something `previous` (null: nothing reported yet) did not. */
export function observedChanged(previous: ObservedState | null, next: ObservedState): boolean {
  return previous === null || observedKey(previous) !== observedKey(next);
}
