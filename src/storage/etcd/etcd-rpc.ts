// The etcd v3 gRPC connection: message types for etcd-rpc.proto, one channel per endpoint, and
// endpoint failover. EtcdStore (etcd-store.ts) builds the Store semantics on top.
//
// Failover: requests go to the current endpoint; when it does not answer (UNAVAILABLE), the next
// listed endpoint becomes current. Reads are retried on the other endpoints until the request
// deadline. Writes are retried only when they certainly were not applied: the channel had no
// connection when the call started, or the member refused it for having no leader (every request
// carries etcd's "hasleader" metadata, so a member cut off from the quorum refuses instead of
// hanging). A write that fails after it may have reached etcd is not retried: the caller gets
// StoreError('Unavailable'), whose contract says the write may or may not have happened.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface PbKeyValue {
  key: Buffer;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: Buffer;
  lease: number;
}

export interface PbHeader {
  cluster_id: number;
  member_id: number;
  revision: number;
  raft_term: number;
}

export interface PbRangeRequest {
  key: Uint8Array;
  range_end?: Uint8Array;
  limit?: number;
  revision?: number;
  count_only?: boolean;
  keys_only?: boolean;
  serializable?: boolean;
}

export interface PbRangeResponse {
  header: PbHeader;
  kvs: PbKeyValue[];
  more: boolean;
  count: number;
}

export interface PbPutRequest {
  key: Uint8Array;
  value: Uint8Array;
  prev_kv?: boolean;
}

export interface PbDeleteRangeRequest {
  key: Uint8Array;
  range_end?: Uint8Array;
  prev_kv?: boolean;
}

export interface PbCompare {
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  key: Uint8Array;
  version?: number;
  create_revision?: number;
  mod_revision?: number;
  value?: Uint8Array;
}

export interface PbRequestOp {
  request_range?: PbRangeRequest;
  request_put?: PbPutRequest;
  request_delete_range?: PbDeleteRangeRequest;
}

export interface PbResponseOp {
  response_range?: PbRangeResponse;
  response_put?: { header: PbHeader; prev_kv?: PbKeyValue };
  response_delete_range?: { header: PbHeader; deleted: number; prev_kvs: PbKeyValue[] };
}

export interface PbTxnRequest {
  compare: PbCompare[];
  success: PbRequestOp[];
  failure: PbRequestOp[];
}

export interface PbTxnResponse {
  header: PbHeader;
  succeeded: boolean;
  responses: PbResponseOp[];
}

export interface PbEvent {
  type: 'PUT' | 'DELETE';
  kv: PbKeyValue;
  prev_kv?: PbKeyValue | null;
}

export interface PbWatchRequest {
  create_request?: {
    key: Uint8Array;
    range_end?: Uint8Array;
    start_revision?: number;
    prev_kv?: boolean;
    progress_notify?: boolean;
  };
  cancel_request?: { watch_id: number };
}

export interface PbWatchResponse {
  header: PbHeader;
  watch_id: number;
  created: boolean;
  canceled: boolean;
  compact_revision: number;
  cancel_reason: string;
  fragment: boolean;
  events: PbEvent[];
}

export interface PbStatusResponse {
  header: PbHeader;
  version: string;
  leader: number;
  errors: string[];
}

interface Methods {
  Range: [PbRangeRequest, PbRangeResponse];
  Txn: [PbTxnRequest, PbTxnResponse];
  Compact: [{ revision: number; physical?: boolean }, { header: PbHeader }];
  Status: [Record<string, never>, PbStatusResponse];
}

export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface EtcdConnectionOptions extends TlsFiles {
  /** Deadline for one request, retries included. Default 10 s. */
  requestTimeoutMs?: number;
}

type ClientCtor = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;

let services: { KV: ClientCtor; Watch: ClientCtor; Maintenance: ClientCtor } | undefined;

function loadServices(): NonNullable<typeof services> {
  if (services) return services;
  const def = protoLoader.loadSync(fileURLToPath(new URL('./etcd-rpc.proto', import.meta.url)), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def).etcdserverpb as unknown as Record<string, ClientCtor>;
  services = { KV: pkg.KV, Watch: pkg.Watch, Maintenance: pkg.Maintenance };
  return services;
}

const CHANNEL_OPTIONS: grpc.ClientOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  // Notice a member that vanished without closing its connections (power loss, partition).
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

export interface Endpoint {
  readonly url: string;
  readonly kv: grpc.Client;
  readonly watch: grpc.Client;
  readonly maintenance: grpc.Client;
}

/** A gRPC failure with the endpoint it came from and whether it was certainly not applied. */
export class RpcError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  readonly notApplied: boolean;
  constructor(code: grpc.status, details: string, notApplied: boolean) {
    super(details);
    this.code = code;
    this.details = details;
    this.notApplied = notApplied;
  }
}

function isNoLeader(details: string): boolean {
  return details.includes('no leader');
}

/** Parses "http://h:p,https://h:p" into host:port targets; all must use the same scheme. */
export function parseEndpoints(spec: string): { targets: string[]; tls: boolean } {
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`no etcd endpoint in ${JSON.stringify(spec)}`);
  let tls: boolean | undefined;
  const targets = parts.map((p) => {
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw new Error(`invalid etcd endpoint ${JSON.stringify(p)}: expected http://host:port or https://host:port`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Error(`invalid etcd endpoint ${JSON.stringify(p)}: expected http://host:port or https://host:port`);
    }
    if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.username) {
      throw new Error(`invalid etcd endpoint ${JSON.stringify(p)}: expected http://host:port or https://host:port`);
    }
    const isTls = u.protocol === 'https:';
    if (tls !== undefined && tls !== isTls) throw new Error(`etcd endpoints mix http and https: ${JSON.stringify(spec)}`);
    tls = isTls;
    const port = u.port || (isTls ? '443' : '80');
    return `${u.hostname}:${port}`;
  });
  return { targets, tls: tls! };
}

export class EtcdConnection {
  readonly endpoints: Endpoint[];
  private current = 0;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(spec: string, opts: EtcdConnectionOptions = {}) {
    const { targets, tls } = parseEndpoints(spec);
    if (!tls && (opts.caFile || opts.certFile || opts.keyFile)) {
      throw new Error('etcd TLS files were given but the endpoints use http://; use https://');
    }
    if (!!opts.certFile !== !!opts.keyFile) throw new Error('etcd client certificate and key must be given together');
    const read = (what: string, file: string | undefined): Buffer | null => {
      if (!file) return null;
      try {
        return readFileSync(file);
      } catch (e) {
        throw new Error(`cannot read the etcd ${what} ${file}: ${(e as Error).message}`);
      }
    };
    const creds = tls
      ? grpc.credentials.createSsl(read('CA file', opts.caFile), read('client key file', opts.keyFile), read('client certificate file', opts.certFile))
      : grpc.credentials.createInsecure();
    const svc = loadServices();
    this.endpoints = targets.map((t) => {
      // The three clients share one channel, hence one HTTP/2 connection per member.
      const kv = new svc.KV(t, creds, CHANNEL_OPTIONS);
      const channel = kv.getChannel();
      return {
        url: `${tls ? 'https' : 'http'}://${t}`,
        kv,
        watch: new svc.Watch(t, creds, { channelOverride: channel }),
        maintenance: new svc.Maintenance(t, creds, { channelOverride: channel }),
      };
    });
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** The endpoint requests go to now. */
  currentEndpoint(): Endpoint {
    return this.endpoints[this.current];
  }

  /** Moves on from ep to the next endpoint, unless someone already did. */
  rotate(ep: Endpoint): void {
    if (this.endpoints[this.current] === ep) this.current = (this.current + 1) % this.endpoints.length;
  }

  static metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    // etcd refuses requests (and ends watch streams) on a member that has lost its leader,
    // instead of letting them hang; such refusals are safe to retry elsewhere.
    md.set('hasleader', 'true');
    return md;
  }

  private once<M extends keyof Methods>(ep: Endpoint, method: M, req: Methods[M][0], deadline: number): Promise<Methods[M][1]> {
    const client = method === 'Status' ? ep.maintenance : ep.kv;
    const state = client.getChannel().getConnectivityState(true);
    return new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>)[method];
      fn.call(client, req, EtcdConnection.metadata(), { deadline }, (err: grpc.ServiceError | null, res: Methods[M][1]) => {
        if (!err) return resolve(res);
        const details = err.details ?? err.message;
        // With no connection at the start, grpc-js fails the call before sending anything.
        const notApplied =
          err.code === grpc.status.UNAVAILABLE && (state !== grpc.connectivityState.READY || isNoLeader(details));
        reject(new RpcError(err.code, details, notApplied));
      });
    });
  }

  /**
   * Sends one request, failing over across endpoints as described at the top of this file.
   * `mutating` requests are retried only when certainly not applied. Rejects with RpcError.
   */
  async call<M extends keyof Methods>(method: M, req: Methods[M][0], mutating: boolean): Promise<Methods[M][1]> {
    if (this.closed) throw new RpcError(grpc.status.CANCELLED, 'connection closed', true);
    const deadline = Date.now() + this.timeoutMs;
    let attempts = 0;
    for (;;) {
      const ep = this.endpoints[this.current];
      try {
        return await this.once(ep, method, req, deadline);
      } catch (e) {
        const err = e as RpcError;
        const retryable =
          (err.code === grpc.status.UNAVAILABLE && (!mutating || err.notApplied)) ||
          (!mutating && err.code === grpc.status.DEADLINE_EXCEEDED && Date.now() < deadline);
        // Whatever happens to this request, the next one should try another member.
        if (err.code === grpc.status.UNAVAILABLE) this.rotate(ep);
        if (!retryable || this.closed) throw err;
        this.rotate(ep);
        attempts++;
        if (Date.now() >= deadline) {
          throw new RpcError(grpc.status.UNAVAILABLE, `no etcd endpoint answered (${this.endpoints.map((x) => x.url).join(', ')}): ${err.details}`, err.notApplied);
        }
        // After a full round of endpoints, back off before trying them again.
        if (attempts % this.endpoints.length === 0) {
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(5, attempts / this.endpoints.length))));
        }
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ep of this.endpoints) ep.kv.close();
  }
}
