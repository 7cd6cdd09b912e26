// Entry of the scheduler's worker thread (started by scheduler-thread.ts): startScheduler over the
// port transport, logging and lifecycle through the parent port.
import { parentPort, workerData } from 'node:worker_threads';
import { portTransport } from './port-transport.ts';
import { startScheduler } from './scheduler.ts';
import type { SchedulerWorkerData, ThreadControl } from './scheduler-thread.ts';

const parent = parentPort!;
const data = workerData as SchedulerWorkerData;
const post = (m: ThreadControl) => parent.postMessage(m);
const transport = portTransport(data.port);
const s = startScheduler({ transport, config: data.settings, log: (msg) => post({ t: 'log', msg }) });
s.started().then(() => post({ t: 'started' }));
parent.on('message', (m: ThreadControl) => {
  if (m.t !== 'stop') return;
  void s
    .stop()
    .catch((e) => post({ t: 'log', msg: `stopping: ${(e as Error)?.message ?? e}` }))
    .then(() => transport.close())
    .then(() => {
      post({ t: 'stopped' });
      data.port.close();
      parent.close();
    });
});
