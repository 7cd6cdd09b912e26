// Test support: poll until a condition holds, for integration tests of controllers whose effects
// arrive asynchronously through the API.

/**
 * Calls `probe` every `intervalMs` until it answers something other than undefined/false and
 * resolves with that; rejects after `timeoutMs` with the last error or answer in the message.
 * Errors thrown by probe count as "not yet".
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, o: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 20));
  }
}
