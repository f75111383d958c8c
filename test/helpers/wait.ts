/** Polling waits for tests: until a condition holds, or until a request log stops growing. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits until `pred` holds (polling every 10 ms), or throws after `timeoutMs`. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'a condition',
): Promise<void> {
  const started = Date.now();
  while (!(await pred())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The length of `log` once nothing new arrived for `quietMs` (at most `maxMs`): requests
 * a client sent before an abort can reach an in-process server a moment later.
 */
export async function quietLength(log: readonly unknown[], quietMs = 300, maxMs = 3_000): Promise<number> {
  let n = log.length;
  for (let still = 0, waited = 0; still < quietMs && waited < maxMs; waited += 50) {
    await sleep(50);
    still = log.length === n ? still + 50 : 0;
    n = log.length;
  }
  return n;
}
