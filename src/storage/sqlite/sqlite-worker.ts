// Worker-thread entry for WorkerHost: opens the database named in workerData and executes
// requests one at a time, in arrival order, so fsyncs never block the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteEngine, engineError, isEngineError } from './engine.ts';
import type { WorkerReply, WorkerRequest } from './engine-host.ts';

const port = parentPort!;
let engine: SqliteEngine | undefined;
let openError: unknown;
try {
  engine = new SqliteEngine((workerData as { path: string }).path);
} catch (e) {
  openError = e;
}

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    if (!engine) throw openError;
    if (req.method === 'close') {
      engine.close();
      reply = { id: req.id, ok: true, result: undefined };
    } else {
      const fn = engine[req.method] as (...a: unknown[]) => unknown;
      reply = { id: req.id, ok: true, result: fn.apply(engine, req.args) };
    }
  } catch (e) {
    reply = { id: req.id, ok: false, error: isEngineError(e) ? e : engineError('Unavailable', `sqlite: ${(e as Error)?.message ?? e}`) };
  }
  port.postMessage(reply);
});
