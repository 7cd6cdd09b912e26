// The CertificateSigningRequest as the certificate controllers read it, and upstream's condition
// helpers (pkg/controller/certificates/certificate_controller_utils.go).
import type { KObject } from '../../api/meta.ts';

export interface CsrCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface Csr extends KObject {
  spec: {
    /** base64 of the PEM request. */
    request: string;
    signerName: string;
    usages?: string[];
    expirationSeconds?: number;
    username?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
  };
  status?: {
    conditions?: CsrCondition[];
    /** base64 of the PEM certificate. */
    certificate?: string;
  };
}

export const CSR_GROUP = 'certificates.k8s.io';
export const CSR_PLURAL = 'certificatesigningrequests';

export function hasTrueCondition(csr: Csr, type: string): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === type && (c.status === 'True' || !c.status));
}

/** upstream's GetCertApprovalCondition. */
export function approvalState(csr: Csr): { approved: boolean; denied: boolean } {
  let approved = false;
  let denied = false;
  for (const c of csr.status?.conditions ?? []) {
    if (c.type === 'Approved') approved = true;
    if (c.type === 'Denied') denied = true;
  }
  return { approved, denied };
}

/** upstream's IsCertificateRequestApproved: approved and not denied. */
export function isApproved(csr: Csr): boolean {
  const s = approvalState(csr);
  return s.approved && !s.denied;
}

export function requestPem(csr: Csr): string {
  return Buffer.from(csr.spec.request ?? '', 'base64').toString('utf8');
}
