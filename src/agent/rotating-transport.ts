// A Transport whose credentials can change under it: when the node's client certificate is renewed,
// new requests and watches go through a transport built with the new certificate, and the old one
// is closed after a grace period, so its watches end and their informers resume on the new
// connection (upstream's kubelet likewise closes its connections on rotation).
import type { Transport, TransportRequest, TransportResponse, WatchHandle, WatchHandlers } from '../api/transport.ts';

export class RotatingTransport implements Transport {
  #current: Transport;
  #retired = new Set<Transport>();
  #timers = new Set<NodeJS.Timeout>();
  readonly #graceMs: number;

  constructor(initial: Transport, o: { graceMs?: number } = {}) {
    this.#current = initial;
    this.#graceMs = o.graceMs ?? 30_000;
  }

  get current(): Transport {
    return this.#current;
  }

  /** Routes everything new through `next`; closes the previous transport after the grace period. */
  rotate(next: Transport): void {
    const old = this.#current;
    this.#current = next;
    this.#retired.add(old);
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#retired.delete(old);
      void old.close().catch(() => undefined);
    }, this.#graceMs);
    t.unref();
    this.#timers.add(t);
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    return this.#current.request(req);
  }

  watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle {
    return this.#current.watch(req, handlers);
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const all = [this.#current, ...this.#retired];
    this.#retired.clear();
    await Promise.all(all.map((t) => t.close().catch(() => undefined)));
  }
}
