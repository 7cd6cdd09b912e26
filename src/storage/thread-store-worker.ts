// The worker thread's side of ThreadStore (thread-store.ts): opens the datastore named in
// workerData with openStore and runs ThreadStore's calls and watches against it. Calls start in
// arrival order; their answers go back as each settles, tagged with the call's id.

import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type OpenStoreOptions } from './open.ts';
import type { Store, Watcher } from './store.ts';
import { toWire, type FromWorker, type ToWorker } from './thread-store.ts';

const port = parentPort!;
const { url, options } = workerData as { url: string; options: OpenStoreOptions };
const send = (m: FromWorker) => port.postMessage(m);

let store: Store | undefined;
try {
  store = await openStore(url, { ...options, thread: false });
} catch (e) {
  // ThreadStore.open rejects with this and ends the thread.
  send({ kind: 'openFailed', error: toWire(e) });
}
if (store) serve(store);

function serve(store: Store): void {
  const watches = new Map<number, Watcher>();
  port.on('message', (m: ToWorker) => {
    switch (m.kind) {
      case 'call': {
        let p: Promise<unknown>;
        try {
          p = (store[m.method] as (...a: unknown[]) => Promise<unknown>).apply(store, m.args);
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (value) => send({ kind: 'result', id: m.id, ok: true, value }),
          (e) => send({ kind: 'result', id: m.id, ok: false, error: toWire(e) }),
        );
        return;
      }
      case 'watch': {
        let ended = false;
        const w = store.watch(m.prefix, m.after, {
          onEvents: (events) => send({ kind: 'events', watch: m.watch, events }),
          onError: (e) => {
            ended = true;
            watches.delete(m.watch);
            send({ kind: 'watchError', watch: m.watch, error: toWire(e) });
          },
        });
        if (!ended) watches.set(m.watch, w);
        return;
      }
      case 'cancel':
        watches.get(m.watch)?.cancel();
        watches.delete(m.watch);
        return;
      case 'close':
        store.close().then(
          () => send({ kind: 'result', id: m.id, ok: true, value: undefined }),
          (e) => send({ kind: 'result', id: m.id, ok: false, error: toWire(e) }),
        );
        return;
    }
  });
  send({ kind: 'opened' });
}
