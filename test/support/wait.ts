/**
 * Polling helper for tests: waits until `probe` returns a value that is not undefined/false. On a
 * time-out, `explain` (when given) adds what the test knows about the state, e.g. agents' output.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 100,
  explain?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      let detail = '';
      if (explain) detail = `\n${await Promise.resolve().then(explain).catch((error: Error) => `(explaining failed: ${error.message})`)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
