// Quiet-machine emulation for a benchmark on a shared machine. With --priority the benchmark runs
// again as a child in a session of its own: the kernel's autogroup scheduler then puts that child
// and every process it starts (servers, wrk, containerd, …) in one scheduling group, which this
// module gives autogroup nice −15, so that other sessions' processes yield the CPU to it while it
// runs. A figure that compares two paths measured back to back is then far less at the mercy of
// whatever else the machine does in between. It is a method, not a tuning of rudder: both sides of
// a comparison run in the same group, and the write-up says when it was used.
//
// Needs root (a negative nice) and /proc/sys/kernel/sched_autogroup_enabled = 1; says so and exits
// when either is missing rather than measuring without it.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const MARK = 'RUDDER_BENCH_PRIORITY_GROUP';

/**
 * With `enabled`, re-runs this process in its own autogroup at nice −15 and exits with the child's
 * status (it never returns in the parent); in the child, and without `enabled`, returns at once.
 * Returns whether the caller runs in the priority group.
 */
export async function priorityGroup(enabled: boolean): Promise<boolean> {
  if (process.env[MARK] === '1') {
    writeFileSync('/proc/self/autogroup', '-15');
    return true;
  }
  if (!enabled) return false;
  let on = '0';
  try {
    on = readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim();
  } catch {
    // no autogroup scheduler on this kernel
  }
  if (on !== '1') {
    console.error('--priority needs the autogroup scheduler (/proc/sys/kernel/sched_autogroup_enabled = 1)');
    process.exit(2);
  }
  if (process.getuid?.() !== 0) {
    console.error('--priority needs root (it sets a negative nice)');
    process.exit(2);
  }
  // detached: the child calls setsid(), which is what gives it an autogroup of its own.
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s === 'SIGINT' ? 130 : 143))));
  process.exit(code);
}
