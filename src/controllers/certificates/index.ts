// The certificate controllers of the controller-manager: approving, signing, and cleaning up the
// credentials nodes join with. The composition root (src/cli/controllers.ts) lists them.
import type { Controller } from '../controller.ts';
import { csrApprovingController } from './approver.ts';
import { csrCleanerController, tokenCleanerController } from './cleaners.ts';
import { csrSigningController } from './signer.ts';

export { csrApprovingController, csrSigningController, csrCleanerController, tokenCleanerController };
export type { CertificateSigningConfig } from './signer.ts';

export function certificateControllers(): Controller[] {
  return [csrApprovingController, csrSigningController, csrCleanerController, tokenCleanerController];
}
