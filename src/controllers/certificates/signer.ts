// The CSR signer ("csrsigning"), as upstream's pkg/controller/certificates/signer: approved, not
// failed, not yet issued requests for the kubernetes.io signers it has a CA for are checked again
// (a request that fails the signer's rules gets a Failed condition, reason SignerValidationFailure)
// and signed; the certificate, followed by the issuing CA's, goes to status.certificate through the
// status subresource (upstream writes the leaf alone; the API allows a chain after it).
//
// The CAs come from files, as upstream's --cluster-signing-cert-file/--cluster-signing-key-file
// (and the per-signer overrides), read again when they change. Without a CA for a signer, its
// requests stay approved and unsigned, as upstream without signing files.
import { readFileSync, statSync } from 'node:fs';
import { clone, type KObject } from '../../api/meta.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { isNotFound } from '../cluster/errors.ts';
import { runWorkers, type Controller, type ControllerManagerConfig } from '../controller.ts';
import { CSR_GROUP, CSR_PLURAL, hasTrueCondition, isApproved, requestPem, type Csr } from './csr.ts';
import {
  KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
  KUBE_APISERVER_CLIENT_SIGNER,
  KUBELET_SERVING_SIGNER,
  parseCsr,
  signCsr,
  validateApiServerClientUsages,
  validateKubeletClientCsr,
  validateKubeletServingCsr,
  type CertificateAuthority,
  type ParsedCsr,
} from './x509.ts';

/**
 * What the signer needs from the controller-manager's configuration (upstream's flags of the same
 * names). Every field is optional: the cluster-wide pair is the default for each signer.
 */
export interface CertificateSigningConfig {
  /** --cluster-signing-cert-file / --cluster-signing-key-file. */
  clusterSigningCertFile?: string;
  clusterSigningKeyFile?: string;
  /** --cluster-signing-kubelet-client-{cert,key}-file (kubernetes.io/kube-apiserver-client-kubelet). */
  clusterSigningKubeletClientCertFile?: string;
  clusterSigningKubeletClientKeyFile?: string;
  /** --cluster-signing-kubelet-serving-{cert,key}-file (kubernetes.io/kubelet-serving). */
  clusterSigningKubeletServingCertFile?: string;
  clusterSigningKubeletServingKeyFile?: string;
  /** --cluster-signing-kube-apiserver-client-{cert,key}-file (kubernetes.io/kube-apiserver-client). */
  clusterSigningKubeApiserverClientCertFile?: string;
  clusterSigningKubeApiserverClientKeyFile?: string;
  /** --cluster-signing-duration: the longest certificate issued (default 8760h, one year). */
  clusterSigningDurationMs?: number;
}

export const DEFAULT_SIGNING_DURATION_MS = 8760 * 3600_000;
const MIN_DURATION_MS = 10 * 60_000;

type SignerName = typeof KUBE_APISERVER_CLIENT_KUBELET_SIGNER | typeof KUBELET_SERVING_SIGNER | typeof KUBE_APISERVER_CLIENT_SIGNER;

/** The cert and key files of each signer, per the configuration (undefined: that signer is off). */
export function signingFiles(c: CertificateSigningConfig): Record<SignerName, { certFile: string; keyFile: string } | undefined> {
  const pair = (cert?: string, key?: string) => (cert && key ? { certFile: cert, keyFile: key } : c.clusterSigningCertFile && c.clusterSigningKeyFile ? { certFile: c.clusterSigningCertFile, keyFile: c.clusterSigningKeyFile } : undefined);
  return {
    [KUBE_APISERVER_CLIENT_KUBELET_SIGNER]: pair(c.clusterSigningKubeletClientCertFile, c.clusterSigningKubeletClientKeyFile),
    [KUBELET_SERVING_SIGNER]: pair(c.clusterSigningKubeletServingCertFile, c.clusterSigningKubeletServingKeyFile),
    [KUBE_APISERVER_CLIENT_SIGNER]: pair(c.clusterSigningKubeApiserverClientCertFile, c.clusterSigningKubeApiserverClientKeyFile),
  } as Record<SignerName, { certFile: string; keyFile: string } | undefined>;
}

/** upstream's signer.duration: the requested expirationSeconds within [10 min, the signing duration]. */
export function certificateDuration(expirationSeconds: number | undefined, maxMs: number): number {
  if (expirationSeconds === undefined || expirationSeconds === null) return maxMs;
  const want = expirationSeconds * 1000;
  return want > maxMs ? maxMs : want < MIN_DURATION_MS ? MIN_DURATION_MS : want;
}

/** The signer's check for a request (upstream's isKubeletServing/isKubeletClient/isKubeAPIServerClient). */
export function signerValidation(signerName: string, req: ParsedCsr, usages: string[]): string | undefined {
  switch (signerName) {
    case KUBE_APISERVER_CLIENT_KUBELET_SIGNER:
      return validateKubeletClientCsr(req, usages);
    case KUBELET_SERVING_SIGNER:
      return validateKubeletServingCsr(req, usages);
    case KUBE_APISERVER_CLIENT_SIGNER:
      return validateApiServerClientUsages(usages);
  }
  return undefined;
}

/** A CA read from files, read again when either file's mtime changes. */
class FileCa {
  private cached?: { stamp: string; ca: CertificateAuthority };
  readonly certFile: string;
  readonly keyFile: string;
  constructor(files: { certFile: string; keyFile: string }) {
    this.certFile = files.certFile;
    this.keyFile = files.keyFile;
  }
  get(): CertificateAuthority {
    const stamp = `${statSync(this.certFile).mtimeMs}/${statSync(this.keyFile).mtimeMs}`;
    if (this.cached?.stamp !== stamp) {
      const certPem = readFileSync(this.certFile, 'utf8');
      // A bundle's first certificate is the signing one.
      const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(certPem)?.[0] ?? certPem;
      this.cached = { stamp, ca: { certPem: first, keyPem: readFileSync(this.keyFile, 'utf8') } };
    }
    return this.cached.ca;
  }
}

export const csrSigningController: Controller = {
  name: 'csrsigning',
  setup(ctx) {
    const cfg = ctx.config as ControllerManagerConfig & CertificateSigningConfig;
    const files = signingFiles(cfg);
    const cas = new Map<string, FileCa>();
    for (const [signer, f] of Object.entries(files)) if (f) cas.set(signer, new FileCa(f));
    if (cas.size === 0) ctx.log('csrsigning: no --cluster-signing-cert-file/--cluster-signing-key-file: approved requests are not signed');
    const maxMs = cfg.clusterSigningDurationMs ?? DEFAULT_SIGNING_DURATION_MS;
    const csrs = ctx.informers.informerFor<Csr>(CSR_GROUP, CSR_PLURAL);
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'certificate' });
    const enqueue = (c: Csr) => {
      if (cas.has(c.spec?.signerName) && isApproved(c) && !c.status?.certificate && !hasTrueCondition(c, 'Failed')) queue.add(c.metadata.name!);
    };
    csrs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, c) => enqueue(c) });
    const client = ctx.client.resource<Csr>(CSR_GROUP, CSR_PLURAL);

    const writeStatus = async (next: Csr, what: string) => {
      try {
        await client.updateStatus(next);
      } catch (e) {
        if (isNotFound(e)) return;
        throw new Error(`error ${what} for csr: ${(e as Error).message}`);
      }
    };

    const sync = async (name: string): Promise<void> => {
      const cur = csrs.lister().get(name);
      if (!cur || !isApproved(cur) || hasTrueCondition(cur, 'Failed') || cur.status?.certificate) return;
      const ca = cas.get(cur.spec.signerName);
      if (!ca) return;
      let parsed: ParsedCsr;
      try {
        parsed = await parseCsr(requestPem(cur));
      } catch (e) {
        throw new Error(`unable to parse csr "${name}": ${(e as Error).message}`);
      }
      const invalid = signerValidation(cur.spec.signerName, parsed, cur.spec.usages ?? []);
      if (invalid) {
        const next = clone(cur) as Csr;
        next.status = { ...(next.status ?? {}), conditions: [...(next.status?.conditions ?? []), { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: invalid, lastUpdateTime: new Date(ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') }] };
        return writeStatus(next, 'adding failure condition');
      }
      let pem: string;
      const authority = ca.get();
      try {
        pem = await signCsr(authority, requestPem(cur), { usages: cur.spec.usages ?? [], ttlMs: certificateDuration(cur.spec.expirationSeconds, maxMs), now: ctx.clock.now() });
      } catch (e) {
        throw new Error(`error auto signing csr: ${(e as Error).message}`);
      }
      const next = clone(cur) as Csr;
      // The issued certificate, then the CA that issued it: a node learns the client CA (which its
      // kubelet API trusts for the API server's calls) from its own certificate's chain.
      next.status = { ...(next.status ?? {}), certificate: Buffer.from(pem + authority.certPem).toString('base64') };
      await writeStatus(next as KObject as Csr, 'updating signature');
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, 'csrsigning') };
  },
};
