/**
 * Canonical JSON: object keys sorted at every level, absent (undefined) values left out, array order
 * kept. Two values say the same exactly when their canonical JSON is the same text. Pure; shared by the
 * controller (stored revisions) and the agent (has the observed state changed?).
 */

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The canonical JSON text of `value`. */
export function renderCanonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}
