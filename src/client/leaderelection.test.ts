// Leader election against the in-memory FakeTransport with a FakeClock: hours of leases in milliseconds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from './client.ts';
import { FakeClock, settle } from './clock.ts';
import { FakeTransport, FaultyTransport } from './fake-transport.ts';
import { LeaderElector, LeaseLock, type Lease } from './leaderelection.ts';

interface Candidate {
  id: string;
  conn: FaultyTransport;
  elector: LeaderElector;
  log: string[];
  leading?: AbortSignal;
  stop: AbortController;
  done?: Promise<void>;
}

function world() {
  const clock = new FakeClock();
  const fake = new FakeTransport({ clock });
  const candidate = (id: string, opts: { releaseOnCancel?: boolean } = {}): Candidate => {
    const conn = new FaultyTransport(fake);
    const c = { id, conn, log: [] as string[], stop: new AbortController() } as unknown as Candidate;
    c.elector = new LeaderElector({
      lock: new LeaseLock(new Client(conn), { namespace: 'kube-system', name: 'demo', identity: id }),
      clock,
      random: () => 0,
      log: () => {},
      releaseOnCancel: opts.releaseOnCancel,
      callbacks: {
        onStartedLeading: (signal) => {
          c.leading = signal;
          c.log.push(`started@${clock.now() - start}`);
        },
        onStoppedLeading: () => c.log.push(`stopped@${clock.now() - start}`),
        onNewLeader: (who) => c.log.push(`leader=${who || '(none)'}`),
      },
    });
    return c;
  };
  const start = clock.now();
  const lease = () => fake.object('coordination.k8s.io', 'leases', 'kube-system', 'demo') as Lease | undefined;
  const run = (c: Candidate) => (c.done = c.elector.run(c.stop.signal));
  const at = () => clock.now() - start;
  return { clock, fake, candidate, lease, run, at, start };
}

describe('leader election', () => {
  test('the first candidate creates the Lease and leads; renewals move only renewTime', async () => {
    const w = world();
    const a = w.candidate('a');
    w.run(a);
    await w.clock.advance(0);
    assert.deepEqual(a.log, ['leader=a', 'started@0']);
    assert.equal(a.elector.isLeader(), true);
    const first = w.lease()!;
    assert.equal(first.spec!.holderIdentity, 'a');
    assert.equal(first.spec!.leaseDurationSeconds, 15);
    assert.equal(first.spec!.leaseTransitions, 0);
    assert.equal(first.spec!.acquireTime, first.spec!.renewTime);
    assert.match(first.spec!.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime');
    await w.clock.advance(2000);
    const renewed = w.lease()!;
    assert.notEqual(renewed.spec!.renewTime, first.spec!.renewTime);
    assert.equal(renewed.spec!.acquireTime, first.spec!.acquireTime);
    assert.equal(new Date(renewed.spec!.renewTime!).getTime() - new Date(first.spec!.renewTime!).getTime(), 2000, 'renewed every retry period');
    a.stop.abort();
    await a.done;
  });

  test('a second candidate waits; when the leader stops renewing it takes over one lease duration after it last saw a change', async () => {
    const w = world();
    const a = w.candidate('a');
    const b = w.candidate('b');
    w.run(a);
    await w.clock.advance(0);
    w.run(b);
    await w.clock.advance(0);
    assert.equal(b.elector.isLeader(), false);
    assert.equal(b.elector.getLeader(), 'a');
    assert.deepEqual(b.log, ['leader=a']);
    await w.clock.advance(20_000);
    assert.equal(b.elector.isLeader(), false, 'a renews, so b never sees the lease expire');
    // a's connection dies: it cannot renew any more
    a.conn.down = true;
    const lastRenew = new Date(w.lease()!.spec!.renewTime!).getTime() - w.start;
    // b polls every 2 s (no jitter here), so it sees the last change at most 2 s after it happened
    let takeover = -1;
    for (let t = 0; t < 30_000 && takeover < 0; t += 100) {
      await w.clock.advance(100);
      if (b.elector.isLeader()) takeover = w.at();
    }
    assert.ok(takeover > 0, 'b took over');
    assert.ok(takeover - lastRenew >= 15_000, `not before the lease duration (took over ${takeover - lastRenew} ms after the last renewal)`);
    assert.ok(takeover - lastRenew <= 15_000 + 2 * 2000 + 100, `promptly after it (${takeover - lastRenew} ms)`);
    const l = w.lease()!;
    assert.equal(l.spec!.holderIdentity, 'b');
    assert.equal(l.spec!.leaseTransitions, 1);
    assert.equal(l.spec!.acquireTime, l.spec!.renewTime);
    assert.ok(b.log.includes('leader=b'));
    // a, unable to renew for the renew deadline, stopped leading on its own
    assert.equal(a.leading!.aborted, true);
    const stoppedAt = Number(a.log.find((x) => x.startsWith('stopped@'))!.split('@')[1]);
    assert.ok(stoppedAt - lastRenew <= 2000 + 10_000 && stoppedAt - lastRenew >= 10_000, `a stopped ${stoppedAt - lastRenew} ms after its last renewal`);
    assert.ok(stoppedAt < takeover, 'the old leader stops before the new one starts');
    await a.done;
    b.stop.abort();
    await b.done;
  });

  test('a graceful stop releases the lease, so the successor need not wait for it to expire', async () => {
    const w = world();
    const a = w.candidate('a');
    const b = w.candidate('b');
    w.run(a);
    await w.clock.advance(0);
    w.run(b);
    await w.clock.advance(3000);
    const stopAt = w.at();
    a.stop.abort();
    await a.done;
    const released = w.lease()!;
    assert.equal(released.spec!.holderIdentity, '');
    assert.equal(released.spec!.leaseDurationSeconds, 1);
    assert.equal(released.spec!.leaseTransitions, 0);
    assert.ok(a.log.at(-1)!.startsWith('stopped@'));
    while (!b.elector.isLeader()) await w.clock.advance(100);
    assert.ok(w.at() - stopAt <= 2000 + 100, `b took over ${w.at() - stopAt} ms after the release`);
    assert.equal(w.lease()!.spec!.leaseTransitions, 1);
    b.stop.abort();
    await b.done;
  });

  test('without releaseOnCancel a stopped leader leaves the lease to expire', async () => {
    const w = world();
    const a = w.candidate('a', { releaseOnCancel: false });
    w.run(a);
    await w.clock.advance(0);
    a.stop.abort();
    await a.done;
    assert.equal(w.lease()!.spec!.holderIdentity, 'a');
  });

  test('candidates starting together: exactly one wins', async () => {
    const w = world();
    const cs = ['a', 'b', 'c'].map((id) => w.candidate(id));
    for (const c of cs) w.run(c);
    await w.clock.advance(0);
    await w.clock.advance(10_000);
    const leaders = cs.filter((c) => c.elector.isLeader());
    assert.equal(leaders.length, 1);
    assert.equal(w.lease()!.spec!.holderIdentity, leaders[0]!.id);
    for (const c of cs) assert.equal(c.elector.getLeader(), leaders[0]!.id);
    for (const c of cs) c.stop.abort();
    await Promise.all(cs.map((c) => c.done));
  });

  test('onStoppedLeading runs when run() ends even if the candidate never led, as upstream', async () => {
    const w = world();
    const a = w.candidate('a');
    const b = w.candidate('b');
    w.run(a);
    await w.clock.advance(0);
    w.run(b);
    await w.clock.advance(1000);
    b.stop.abort();
    await b.done;
    assert.deepEqual(b.log, ['leader=a', 'stopped@1000']);
    a.stop.abort();
    await a.done;
  });

  test('configuration is checked with upstream messages', () => {
    const lock = new LeaseLock(new Client(new FakeTransport()), { namespace: 'kube-system', name: 'x', identity: 'me' });
    const cb = { onStartedLeading() {}, onStoppedLeading() {} };
    assert.throws(() => new LeaderElector({ lock, callbacks: cb, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /leaseDuration must be greater than renewDeadline/);
    assert.throws(() => new LeaderElector({ lock, callbacks: cb, renewDeadlineMs: 2400, retryPeriodMs: 2000 }), /renewDeadline must be greater than retryPeriod\*JitterFactor/);
    const ok = new LeaderElector({ lock, callbacks: cb });
    assert.deepEqual([ok.leaseDurationMs, ok.renewDeadlineMs, ok.retryPeriodMs], [15_000, 10_000, 2_000]);
  });

  test('check() reports a leader that has not renewed for longer than the lease plus the tolerance', async () => {
    const w = world();
    const a = w.candidate('a');
    w.run(a);
    await w.clock.advance(0);
    assert.equal(a.elector.check(5000), undefined);
    a.conn.down = true;
    // the renew loop gives up after 10 s and run() ends; check() still reflects the stale lease
    await w.clock.advance(21_000);
    assert.match(a.elector.check(5000)?.message ?? '', /failed election to renew leadership on lease kube-system\/demo/);
    await settle();
  });
});
