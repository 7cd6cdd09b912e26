// openStore: the one place that turns a datastore URL (the server's --datastore-endpoint) into a
// Store. Only src/apiserver (and the CLI composition root) should call it.
//
//   sqlite:///absolute/path.db            embedded SQLite; the directory is created if needed
//   http://h:p[,http://h:p…]              etcd v3 cluster (plain)
//   https://h:p[,https://h:p…]            etcd v3 cluster over TLS (caFile/certFile/keyFile)
//
// Anything else fails with a one-line Error saying what is accepted. Backend failures surface as
// StoreError only.

import { chmod, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import type { Store } from './store.ts';
import { EtcdStore, type EtcdStoreOptions } from './etcd/etcd-store.ts';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.ts';
import { ThreadStore } from './thread-store.ts';

export interface OpenStoreOptions {
  /** PEM files for https:// etcd endpoints (k3s: --datastore-cafile/-certfile/-keyfile). */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  sqlite?: SqliteStoreOptions;
  etcd?: Omit<EtcdStoreOptions, 'caFile' | 'certFile' | 'keyFile'>;
  /**
   * Run the backend on a worker thread of its own (thread-store.ts). Default: for etcd, whose
   * client's gRPC, protobuf and HTTP/2 work had been more of a create's event-loop time than the
   * API server's own (BENCHMARKS.md); not for SQLite, whose commits measured slower that way.
   */
  thread?: boolean;
}

const ACCEPTED = 'expected sqlite:///absolute/path.db or http(s)://host:port[,http(s)://host:port…]';

export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite://')) {
    // k3s-style URLs may carry driver options after '?'; rudder sets its own pragmas.
    const path = decodeURIComponent(url.slice('sqlite://'.length).split('?')[0]);
    if (!isAbsolute(path) || path.endsWith('/')) {
      throw new Error(`invalid datastore endpoint ${JSON.stringify(url)}: ${ACCEPTED}`);
    }
    if (opts.thread) return ThreadStore.open(url, opts);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const store = await SqliteStore.open(path, opts.sqlite);
    // The datastore holds every secret: owner-only, as the CIS benchmark asks of etcd's data.
    // SQLite creates its -wal and -shm files with the database file's mode.
    await chmod(path, 0o600);
    return store;
  }
  if (/^https?:\/\//.test(url)) {
    if (opts.thread ?? true) return ThreadStore.open(url, opts);
    return EtcdStore.open(url, { ...opts.etcd, caFile: opts.caFile, certFile: opts.certFile, keyFile: opts.keyFile });
  }
  throw new Error(`unsupported datastore endpoint ${JSON.stringify(url)}: ${ACCEPTED}`);
}
