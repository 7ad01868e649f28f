/**
 * Pure: whether an observed state differs from the last one reported, ignoring when it was taken
 * (`at`). The agent reports observed state only when this says so, so a quiet host sends nothing.
 */
import { renderCanonicalJson } from '../../protocol/canonical-json.js';
import type { ObservedState } from '../../protocol/observed.js';

/** A text equal for two observed states exactly when they say the same, whenever they were taken. */
export function observedKey(observed: ObservedState): string {
  const { at: _at, ...rest } = observed;
  return renderCanonicalJson(rest);
}

/** Whether `next` says something `previous` (null: nothing reported yet) did not. */
export function observedChanged(previous: ObservedState | null, next: ObservedState): boolean {
  return previous === null || observedKey(previous) !== observedKey(next);
}
