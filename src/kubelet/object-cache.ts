// ConfigMaps and Secrets the kubelet's pods refer to, kept current by one watch per object (upstream's
// watch-based manager, pkg/kubelet/util/manager): a pod registers what it references; the first
// reference starts a list+watch of that single object (fieldSelector metadata.name=…), the last
// unregistration stops it. A change calls onChange, so the pods that use it are synced again. This
// is what the Node authorizer allows a kubelet: objects its pods reference, one by one.
import { StatusError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import type { Client } from '../client/client.ts';
import type { Clock } from '../client/clock.ts';
import { SharedInformer } from '../client/informer.ts';

interface Entry<T extends KObject> {
  informer: SharedInformer<T>;
  users: Set<string>;
}

export interface ObjectCacheOptions {
  client: Client;
  /** 'configmaps' or 'secrets'. */
  plural: string;
  clock?: Clock;
  log?: (m: string) => void;
  onChange?: (namespace: string, name: string) => void;
  /** Informer back-off (tests shorten it). */
  backoffInitialMs?: number;
}

export class ObjectCache<T extends KObject> {
  readonly #o: ObjectCacheOptions;
  readonly #entries = new Map<string, Entry<T>>();
  /** Keys each pod uses. */
  readonly #byPod = new Map<string, Set<string>>();

  constructor(o: ObjectCacheOptions) {
    this.#o = o;
  }

  /** Makes the pod's references exactly these (namespace/name pairs). */
  register(uid: string, namespace: string, names: Iterable<string>): void {
    const keys = new Set([...names].filter(Boolean).map((n) => `${namespace}/${n}`));
    const old = this.#byPod.get(uid) ?? new Set<string>();
    for (const k of keys) {
      if (old.has(k)) continue;
      let e = this.#entries.get(k);
      if (!e) {
        const [ns, name] = k.split('/', 2) as [string, string];
        const rc = this.#o.client.resource<T>('', this.#o.plural).namespace(ns);
        const informer = new SharedInformer<T>(rc, {
          fieldSelector: `metadata.name=${name}`,
          clock: this.#o.clock,
          log: this.#o.log,
          name: `${this.#o.plural} ${k}`,
          backoffInitialMs: this.#o.backoffInitialMs,
        });
        const changed = () => this.#o.onChange?.(ns, name);
        informer.addEventHandler({ onAdd: (_o, initial) => !initial && changed(), onUpdate: changed, onDelete: changed });
        informer.start();
        e = { informer, users: new Set() };
        this.#entries.set(k, e);
      }
      e.users.add(uid);
    }
    for (const k of old) if (!keys.has(k)) this.#release(uid, k);
    if (keys.size) this.#byPod.set(uid, keys);
    else this.#byPod.delete(uid);
  }

  /** The pods that reference the object. */
  users(namespace: string, name: string): string[] {
    return [...(this.#entries.get(`${namespace}/${name}`)?.users ?? [])];
  }

  unregister(uid: string): void {
    for (const k of this.#byPod.get(uid) ?? []) this.#release(uid, k);
    this.#byPod.delete(uid);
  }

  #release(uid: string, key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    e.users.delete(uid);
    if (e.users.size === 0) {
      e.informer.stop();
      this.#entries.delete(key);
    }
  }

  /**
   * The object, or undefined when it does not exist. From the watch once it has synced; before
   * that from a GET, so an error (forbidden, unreachable) is reported instead of a guess.
   */
  async get(namespace: string, name: string): Promise<T | undefined> {
    const e = this.#entries.get(`${namespace}/${name}`);
    if (e?.informer.hasSynced()) return e.informer.indexer.get(`${namespace}/${name}`);
    try {
      return await this.#o.client.resource<T>('', this.#o.plural).namespace(namespace).get(name);
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) return undefined;
      throw err;
    }
  }

  stop(): void {
    for (const e of this.#entries.values()) e.informer.stop();
    this.#entries.clear();
    this.#byPod.clear();
  }
}
