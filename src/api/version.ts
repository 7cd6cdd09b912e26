// The Kubernetes API level rudder implements, as /version reports it. kubectl's dispatcher on
// these machines picks its own minor version from `minor`.
export const KUBERNETES_VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.0+rudder1' };
