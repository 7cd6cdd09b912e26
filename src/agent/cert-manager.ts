// Certificates that renew themselves, as upstream's k8s.io/client-go/util/certificate manager: the
// current certificate is replaced at a random point between 70% and 90% of its lifetime (so a fleet
// of nodes joined together does not renew together) by asking the API for a new one with a fresh
// key; failures are retried with back-off. The node's client certificate renews through the node's
// own identity (approved as selfnodeclient); the kubelet's serving certificate is requested at start
// when none is saved and approved once the node's addresses are known.
import { existsSync, readFileSync } from 'node:fs';
import type { Client } from '../client/client.ts';
import { realClock, type Clock, type Timer } from '../client/clock.ts';
import { pemBlocks, requestCertificate, writeFileAtomic } from './bootstrap.ts';
import { certInfo, issuedBy, keyMatches, newKeyAndRequest, type Subject } from './certs.ts';

export interface CertPair {
  /** The certificate, then the chain that came with it. */
  certPem: string;
  keyPem: string;
}

/** What a consumer of a renewing certificate sees (the kubelet API's serving certificate, the client transport). */
export interface CertSource {
  current(): CertPair | undefined;
  /** Resolves with the first certificate (at once when there is one). */
  ready(): Promise<CertPair>;
  /** Called after every renewal; returns the unsubscribe. */
  onChange(cb: (p: CertPair) => void): () => void;
}

export interface CertificateManagerOptions {
  /** For logs: "client" or "serving". */
  name: string;
  /** The client that submits requests (called each time: after a client renewal it is the new one). */
  client: () => Client;
  subject: () => Subject;
  signerName: string;
  usages: string[];
  certFile: string;
  keyFile: string;
  /** A certificate the caller already holds (e.g. just bootstrapped); else the files are tried. */
  initial?: CertPair;
  /** Saved certificates must be issued by this CA to be reused. */
  issuerPem?: string;
  onRotate?: (p: CertPair) => void | Promise<void>;
  clock?: Clock;
  log?: (msg: string) => void;
  random?: () => number;
  requestTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** upstream's nextRotationDeadline: a uniform point in [70%, 90%] of the certificate's lifetime. */
export function rotationDeadline(notBefore: number, notAfter: number, random: () => number): number {
  const total = notAfter - notBefore;
  return notBefore + total * (0.7 + 0.2 * random());
}

/** Whether a saved pair is usable for `subject`: not expired, key matching, names covering the subject's. */
export function pairServes(p: CertPair, subject: Subject, now: number, issuerPem?: string): boolean {
  try {
    const info = certInfo(p.certPem);
    if (info.notAfter <= now) return false;
    if (info.commonName !== subject.commonName) return false;
    if (!(subject.names ?? []).every((n) => info.names.includes(n))) return false;
    if (!keyMatches(p.certPem, p.keyPem)) return false;
    if (issuerPem && !issuedBy(pemBlocks(p.certPem)[0] ?? p.certPem, issuerPem)) return false;
    return true;
  } catch {
    return false;
  }
}

export class CertificateManager implements CertSource {
  readonly #o: CertificateManagerOptions;
  readonly #clock: Clock;
  readonly #log: (msg: string) => void;
  #pair: CertPair | undefined;
  #listeners = new Set<(p: CertPair) => void>();
  #waiters: ((p: CertPair) => void)[] = [];
  #timer: Timer | undefined;
  #stopped = false;
  #abort = new AbortController();
  #backoff: number;
  #rotating: Promise<void> | undefined;

  constructor(o: CertificateManagerOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.#log = o.log ?? (() => {});
    this.#backoff = o.backoffInitialMs ?? 1000;
    if (o.initial) this.#pair = o.initial;
    else if (existsSync(o.certFile) && existsSync(o.keyFile)) {
      const saved = { certPem: readFileSync(o.certFile, 'utf8'), keyPem: readFileSync(o.keyFile, 'utf8') };
      if (pairServes(saved, o.subject(), this.#clock.now(), o.issuerPem)) this.#pair = saved;
    }
  }

  current(): CertPair | undefined {
    return this.#pair;
  }

  ready(): Promise<CertPair> {
    if (this.#pair) return Promise.resolve(this.#pair);
    return new Promise((r) => this.#waiters.push(r));
  }

  onChange(cb: (p: CertPair) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** When the current certificate is due for renewal (ms since the epoch), if there is one. */
  deadline(): number | undefined {
    if (!this.#pair) return undefined;
    const info = certInfo(this.#pair.certPem);
    return rotationDeadline(info.notBefore, info.notAfter, this.#o.random ?? Math.random);
  }

  /** Schedules the renewal of the current certificate, or asks for one now when there is none. */
  start(): void {
    this.#schedule(this.#pair ? this.deadline()! - this.#clock.now() : 0);
  }

  /** Renews now (tests, and a certificate found to be no longer valid). */
  rotateNow(): Promise<void> {
    this.#timer?.cancel();
    return this.#rotate();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#abort.abort();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer?.cancel();
    if (this.#pair && ms > 0) this.#log(`${this.#o.name} certificate renewal in ${Math.round(ms / 1000)}s`);
    this.#wakeAt(this.#clock.now() + Math.max(0, ms));
  }

  /** Timers hold at most 2^31-1 ms (about 24.8 days): longer waits are taken in steps. */
  #wakeAt(due: number): void {
    const left = due - this.#clock.now();
    this.#timer = this.#clock.setTimeout(() => {
      if (this.#clock.now() < due) this.#wakeAt(due);
      else void this.#rotate();
    }, Math.min(Math.max(0, left), MAX_TIMER_MS));
  }

  #rotate(): Promise<void> {
    this.#rotating ??= this.#doRotate().finally(() => (this.#rotating = undefined));
    return this.#rotating;
  }

  async #doRotate(): Promise<void> {
    if (this.#stopped) return;
    try {
      const subject = this.#o.subject();
      const { keyPem, csrPem } = await newKeyAndRequest(subject);
      const { name, chainPem } = await requestCertificate({
        client: this.#o.client(),
        csrPem,
        signerName: this.#o.signerName,
        usages: this.#o.usages,
        timeoutMs: this.#o.requestTimeoutMs,
        clock: this.#clock,
        signal: this.#abort.signal,
      });
      if (this.#stopped) return;
      const pair = { certPem: pemBlocks(chainPem).join('') || chainPem, keyPem };
      if (!keyMatches(pair.certPem, keyPem)) throw new Error(`the certificate issued for ${name} does not match its key`);
      writeFileAtomic(this.#o.keyFile, keyPem, 0o600);
      writeFileAtomic(this.#o.certFile, pair.certPem, 0o644);
      this.#pair = pair;
      this.#backoff = this.#o.backoffInitialMs ?? 1000;
      this.#log(`${this.#o.name} certificate issued (${name}), valid until ${new Date(certInfo(pair.certPem).notAfter).toISOString()}`);
      await this.#o.onRotate?.(pair);
      for (const w of this.#waiters.splice(0)) w(pair);
      for (const l of this.#listeners) l(pair);
      this.#schedule(this.deadline()! - this.#clock.now());
    } catch (e) {
      if (this.#stopped) return;
      const wait = this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, this.#o.backoffMaxMs ?? 300_000);
      this.#log(`${this.#o.name} certificate request failed: ${(e as Error).message}; retrying in ${Math.round(wait / 1000)}s`);
      this.#schedule(wait);
    }
  }
}
