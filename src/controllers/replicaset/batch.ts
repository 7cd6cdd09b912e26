// upstream's slowStartBatch: run fn `count` times in batches that start at `initial` and double
// after each batch in which every call succeeded. The first failure ends the run after its batch
// completes, so a create that fails for every pod (a quota, an admission webhook) costs a handful
// of requests and events instead of hundreds.

/** Answers how many calls succeeded and the first error, if any. Calls within a batch run concurrently. */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    let firstError: unknown;
    let failed = false;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else if (!failed) {
        failed = true;
        firstError = r.reason;
      }
    }
    if (failed) return { successes, error: firstError };
    remaining -= size;
  }
  return { successes };
}
