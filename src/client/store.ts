// The informer's cache: objects by `namespace/name` key (just `name` for cluster-scoped ones),
// with named indexes kept up to date on every change, and Lister views over it.
//
// Objects in the cache are frozen and shared by every reader (controllers, listers, handlers):
// read them, never change them; clone the one you are about to write.
import type { KObject } from '../api/meta.ts';
import { matchesLabels, parseLabelSelector, type Selector } from '../api/labels.ts';

/** The values an object is indexed under for one index (an object may have several, or none). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** The index every Indexer has: by metadata.namespace (upstream's cache.NamespaceIndex). */
export const NAMESPACE_INDEX = 'namespace';

export function namespaceIndexFunc(obj: KObject): readonly string[] {
  return [obj.metadata?.namespace ?? ''];
}

/** upstream's MetaNamespaceKeyFunc: "namespace/name", or "name" without a namespace. */
export function metaNamespaceKey(obj: KObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** The inverse of metaNamespaceKey. */
export function splitMetaNamespaceKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type SelectorLike = Selector | string | undefined;

function toSelector(s: SelectorLike): Selector | undefined {
  if (s === undefined || s === '') return undefined;
  return typeof s === 'string' ? parseLabelSelector(s) : s;
}

/** A keyed store with named indexes. Readers use get/list/byIndex; the informer writes. */
export class Indexer<T extends KObject> {
  private readonly items = new Map<string, T>();
  private readonly funcs = new Map<string, IndexFunc<T>>();
  /** index name → indexed value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.funcs.set(NAMESPACE_INDEX, namespaceIndexFunc);
    this.indices.set(NAMESPACE_INDEX, new Map());
    this.addIndexers(indexers);
  }

  /** Adds index functions; existing objects are indexed at once. A name already present is an error. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.funcs.has(name)) {
        if (this.funcs.get(name) === fn) continue;
        throw new Error(`indexer conflict: ${name}`);
      }
      this.funcs.set(name, fn);
      const idx = new Map<string, Set<string>>();
      this.indices.set(name, idx);
      for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(idx, v, key);
    }
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get size(): number {
    return this.items.size;
  }

  list(): T[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  /** Objects whose index function `name` yields `value`. */
  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((k) => this.items.get(k)!);
  }

  indexKeys(name: string, value: string): string[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`index with name ${name} does not exist`);
    const keys = idx.get(value);
    return keys ? [...keys] : [];
  }

  /** Every value index `name` currently holds. */
  indexValues(name: string): string[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`index with name ${name} does not exist`);
    return [...idx.keys()];
  }

  /** Inserts or replaces; answers the previous object. */
  upsert(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.funcs) {
      const idx = this.indices.get(name)!;
      const before = old ? fn(old) : [];
      const after = fn(obj);
      if (before.length === 1 && after.length === 1 && before[0] === after[0]) continue;
      for (const v of before) removeFrom(idx, v, key);
      for (const v of after) addTo(idx, v, key);
    }
    return old;
  }

  /** Removes; answers the removed object. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const [name, fn] of this.funcs) {
      const idx = this.indices.get(name)!;
      for (const v of fn(old)) removeFrom(idx, v, key);
    }
    return old;
  }
}

function addTo(idx: Map<string, Set<string>>, v: string, key: string): void {
  let s = idx.get(v);
  if (!s) idx.set(v, (s = new Set()));
  s.add(key);
}

function removeFrom(idx: Map<string, Set<string>>, v: string, key: string): void {
  const s = idx.get(v);
  if (!s) return;
  s.delete(key);
  if (s.size === 0) idx.delete(v);
}

function select<T extends KObject>(objs: T[], sel: SelectorLike): T[] {
  const s = toSelector(sel);
  if (!s) return objs;
  return objs.filter((o) => matchesLabels(s, o.metadata?.labels));
}

/** Read access to an Indexer in upstream's Lister shape; objects are frozen. */
export class Lister<T extends KObject> {
  private readonly indexer: Indexer<T>;

  constructor(indexer: Indexer<T>) {
    this.indexer = indexer;
  }

  /** Every object (all namespaces), optionally only those matching a label selector. */
  list(selector?: SelectorLike): T[] {
    return select(this.indexer.list(), selector);
  }

  /** A cluster-scoped object by name. */
  get(name: string): T | undefined {
    return this.indexer.get(name);
  }

  namespace(ns: string): NamespaceLister<T> {
    return new NamespaceLister(this.indexer, ns);
  }
}

export class NamespaceLister<T extends KObject> {
  private readonly indexer: Indexer<T>;
  readonly ns: string;

  constructor(indexer: Indexer<T>, ns: string) {
    this.indexer = indexer;
    this.ns = ns;
  }

  list(selector?: SelectorLike): T[] {
    return select(this.indexer.byIndex(NAMESPACE_INDEX, this.ns), selector);
  }

  get(name: string): T | undefined {
    return this.indexer.get(`${this.ns}/${name}`);
  }
}
