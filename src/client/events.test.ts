// The event recorder against the in-memory FakeTransport, with a FakeClock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KObject } from '../api/meta.ts';
import { Client } from './client.ts';
import { FakeClock, settle } from './clock.ts';
import { FakeTransport } from './fake-transport.ts';
import { EventBroadcaster, eventName, type CoreEvent } from './events.ts';

const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', resourceVersion: '42' } };
const node: KObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'u-n1' } };

function setup(opts: { maxQueued?: number } = {}) {
  const clock = new FakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
  const fake = new FakeTransport({ clock });
  const b = new EventBroadcaster({ client: new Client(fake), clock, random: () => 0.5, log: () => {}, ...opts });
  const rec = b.newRecorder({ component: 'deployment-controller', host: 'host-a' });
  const events = () => [...listEvents(fake)];
  return { clock, fake, b, rec, events };
}

function listEvents(fake: FakeTransport): CoreEvent[] {
  return fake.objectsOf('', 'events') as CoreEvent[];
}

describe('event recorder', () => {
  test('an event becomes a core/v1 Event named <name>.<hex nanoseconds> in the object namespace', async () => {
    const { clock, fake, b, rec, events } = setup();
    rec.event(pod, 'Normal', 'Scheduled', 'Successfully assigned shop/web-1 to n1');
    await b.flush();
    const evs = events();
    assert.equal(evs.length, 1);
    const ev = evs[0]!;
    assert.equal(ev.metadata.namespace, 'shop');
    assert.equal(ev.metadata.name, `web-1.${(BigInt(clock.now()) * 1_000_000n).toString(16)}`);
    assert.deepEqual(ev.involvedObject, { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u-1', apiVersion: 'v1', resourceVersion: '42' });
    assert.equal(ev.reason, 'Scheduled');
    assert.equal(ev.message, 'Successfully assigned shop/web-1 to n1');
    assert.equal(ev.type, 'Normal');
    assert.equal(ev.count, 1);
    assert.equal(ev.firstTimestamp, '2025-01-01T12:00:00Z');
    assert.equal(ev.lastTimestamp, '2025-01-01T12:00:00Z');
    assert.deepEqual(ev.source, { component: 'deployment-controller', host: 'host-a' });
    assert.equal(ev.reportingComponent, 'deployment-controller');
    assert.equal(ev.reportingInstance, 'host-a');
    const post = fake.requests.find((r) => r.method === 'POST')!;
    assert.equal(post.path, '/api/v1/namespaces/shop/events');
  });

  test('events about cluster-scoped objects go to the default namespace', async () => {
    const { b, rec, events } = setup();
    rec.event(node, 'Warning', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
    await b.flush();
    assert.equal(events()[0]!.metadata.namespace, 'default');
    assert.equal(events()[0]!.involvedObject.namespace, undefined);
  });

  test('identical repeats become one Event whose count and lastTimestamp grow, by PATCH', async () => {
    const { clock, fake, b, rec, events } = setup();
    rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    await b.flush();
    clock.step(5000);
    rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    clock.step(5000);
    rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    await b.flush();
    const evs = events();
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.count, 3);
    assert.equal(evs[0]!.firstTimestamp, '2025-01-01T12:00:00Z');
    assert.equal(evs[0]!.lastTimestamp, '2025-01-01T12:00:10Z');
    const patches = fake.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 2);
    assert.equal(patches[0]!.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(patches[1]!.body, { count: 3, lastTimestamp: '2025-01-01T12:00:10Z', message: 'Back-off restarting failed container' });
    assert.equal(b.stats.created, 1);
    assert.equal(b.stats.patched, 2);
  });

  test('a different message, reason or object is a different Event', async () => {
    const { b, rec, events } = setup();
    rec.event(pod, 'Normal', 'Pulling', 'Pulling image "a"');
    rec.event(pod, 'Normal', 'Pulling', 'Pulling image "b"');
    rec.event(pod, 'Normal', 'Pulled', 'Pulling image "a"');
    rec.event({ ...pod, metadata: { ...pod.metadata, name: 'web-2', uid: 'u-2' } }, 'Normal', 'Pulling', 'Pulling image "a"');
    await b.flush();
    assert.equal(events().length, 4);
    assert.ok(events().every((e) => e.count === 1));
  });

  test('the tenth similar event (same reason, new message) within 10 minutes starts one combined Event', async () => {
    const { clock, b, rec, events } = setup();
    for (let i = 1; i <= 12; i++) {
      rec.event(pod, 'Warning', 'FailedMount', `volume v${i} not ready`);
      clock.step(1000);
    }
    await b.flush();
    const evs = events();
    const combined = evs.filter((e) => e.message.startsWith('(combined from similar events): '));
    assert.equal(evs.length - combined.length, 9, 'nine distinct events before aggregation');
    assert.equal(combined.length, 1);
    assert.equal(combined[0]!.count, 3, 'events 10, 11 and 12 counted on the combined Event');
    assert.equal(combined[0]!.message, '(combined from similar events): volume v12 not ready');
    // after 10 quiet minutes the record starts afresh
    clock.step(601_000);
    rec.event(pod, 'Warning', 'FailedMount', 'volume v99 not ready');
    await b.flush();
    assert.ok(events().some((e) => e.message === 'volume v99 not ready'));
  });

  test('a source may send 25 events about an object, then one per 5 minutes', async () => {
    const { clock, b, rec, events } = setup();
    for (let i = 0; i < 30; i++) rec.event(pod, 'Normal', `Reason${i}`, `message ${i}`);
    await b.flush();
    assert.equal(events().length, 25);
    assert.equal(b.stats.skipped, 5);
    clock.step(299_000);
    rec.event(pod, 'Normal', 'Late', 'too early');
    await b.flush();
    assert.equal(events().length, 25);
    clock.step(1000);
    rec.event(pod, 'Normal', 'Late', 'refilled');
    await b.flush();
    assert.equal(events().length, 26);
    // another object has its own budget
    rec.event(node, 'Normal', 'Fine', 'ok');
    await b.flush();
    assert.equal(events().length, 27);
  });

  test('event() returns at once; beyond the queue limit events are dropped, not blocked on', async () => {
    const { fake, b, rec } = setup({ maxQueued: 3 });
    for (let i = 0; i < 5; i++) rec.event({ ...pod, metadata: { ...pod.metadata, name: `p${i}` } }, 'Normal', 'X', 'y');
    assert.equal(fake.requests.length, 0, 'nothing written synchronously');
    await b.flush();
    // all five arrive within one turn: three are queued, two dropped
    assert.equal(b.stats.dropped, 2);
    assert.equal(b.stats.created, 3);
  });

  test('dropped events are logged at most once a second, the next line counting the drops it stood for', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
    const fake = new FakeTransport({ clock });
    const logs: string[] = [];
    const b = new EventBroadcaster({ client: new Client(fake), clock, random: () => 0.5, log: (m) => logs.push(m), maxQueued: 1 });
    const rec = b.newRecorder({ component: 'default-scheduler' });
    const burst = (from: number, n: number) => {
      for (let i = from; i < from + n; i++) rec.event({ ...pod, metadata: { ...pod.metadata, name: `p${i}` } }, 'Normal', 'Scheduled', 'x');
    };
    burst(0, 4); // one queued, three dropped
    await b.flush();
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /^unable to record event: too many queued events, dropped event shop\/p1\.[0-9a-f]+$/);
    await clock.advance(1000);
    burst(4, 2); // one queued, one dropped
    await b.flush();
    assert.equal(b.stats.dropped, 4);
    assert.equal(logs.length, 2);
    assert.match(logs[1]!, /^unable to record event: too many queued events, dropped event shop\/p5\.[0-9a-f]+ \(and 2 more since the last such message\)$/);
  });

  test('an unsupported type is refused without writing anything', async () => {
    const { fake, b, rec } = setup();
    rec.event(pod, 'Info', 'X', 'y');
    await b.flush();
    assert.equal(fake.requests.length, 0);
  });

  test('writes that get no answer are retried 10 s apart; a Status rejection is not retried', async () => {
    const { clock, fake, b, rec, events } = setup();
    fake.offline = true;
    rec.event(pod, 'Normal', 'Started', 'Started container web');
    await settle();
    assert.equal(fake.requests.length, 1);
    await clock.advance(5000); // the first wait is randomized (0.5 × 10 s here)
    assert.equal(fake.requests.length, 2);
    await clock.advance(10_000);
    assert.equal(fake.requests.length, 3);
    fake.offline = false;
    await clock.advance(10_000);
    await b.flush();
    assert.equal(events().length, 1);

    const stop = fake.react((r) => (r.method === 'POST' ? { status: 403, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 403, reason: 'Forbidden', message: 'no' }, headers: {} } : undefined));
    const before = fake.requests.length;
    rec.event(pod, 'Normal', 'Other', 'forbidden one');
    await b.flush();
    assert.equal(fake.requests.length, before + 1);
    stop();
  });

  test('a repeat of an Event someone deleted creates it again', async () => {
    const { fake, b, rec, events } = setup();
    rec.event(pod, 'Normal', 'Killing', 'Stopping container web');
    await b.flush();
    const name = events()[0]!.metadata.name!;
    await new Client(fake).resource('', 'events').namespace('shop').delete(name);
    rec.event(pod, 'Normal', 'Killing', 'Stopping container web');
    await b.flush();
    const evs = events();
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.count, 2);
    assert.equal(evs[0]!.metadata.name, name);
  });

  test('names that would not be valid become UUIDs, as upstream', () => {
    assert.equal(eventName('web', 255n), 'web.ff');
    assert.match(eventName('Not_Valid', 1n), /^[0-9a-f-]{36}$/);
  });
});
