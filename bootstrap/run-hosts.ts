/**
 * Runs one job per host with at most `parallel` at once and collects every result in input order.
 * A job that throws becomes its host's result through `onError`: one bad host never stops the rest.
 */

/** Runs `job` for each item, `parallel` at a time; results in the items' order. */
export async function runHosts<T, R>(
  items: readonly T[],
  parallel: number,
  job: (item: T, index: number) => Promise<R>,
  onError: (item: T, error: unknown) => R,
): Promise<R[]> {
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`parallel must be a whole number of at least 1, not ${parallel}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index]!;
      try {
        results[index] = await job(item, index);
      } catch (error) {
        results[index] = onError(item, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return results;
}
