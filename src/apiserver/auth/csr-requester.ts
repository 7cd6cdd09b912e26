// Who asked for a certificate: upstream's CertificateSigningRequest strategy (PrepareForCreate)
// stamps spec.username, spec.uid, spec.groups and spec.extra from the authenticated requester and
// clears status, so a request can neither claim another identity nor arrive pre-approved. The CSR
// approver decides on these fields (a bootstrapper may get a node client certificate; a node may
// renew its own), so without this anyone could ask in anyone's name.
//
// rudder runs it as a mutating admission step on CREATE of certificatesigningrequests.
import type { AdmissionPlugin } from '../registry.ts';
import type { Json } from '../admission/common.ts';

export function csrRequesterAdmission(): AdmissionPlugin {
  return {
    name: 'CertificateSigningRequestRequester',
    admit(a) {
      if (a.operation !== 'CREATE' || a.subresource || a.resource.group !== 'certificates.k8s.io' || a.resource.plural !== 'certificatesigningrequests') return;
      const csr = a.object as Json;
      if (!csr) return;
      const spec = (csr.spec ??= {});
      const u = a.user;
      delete spec.username;
      delete spec.uid;
      delete spec.groups;
      delete spec.extra;
      if (u) {
        spec.username = u.name;
        if (u.uid) spec.uid = u.uid;
        if (u.groups.length) spec.groups = [...u.groups];
        if (u.extra && Object.keys(u.extra).length) spec.extra = Object.fromEntries(Object.entries(u.extra).map(([k, v]) => [k, [...v]]));
      }
      delete csr.status;
    },
  };
}
