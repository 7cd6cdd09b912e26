// core/v1 defaulting: upstream's pkg/apis/core/v1/defaults.go (SetDefaults_*) plus the defaults
// its generated defaulters apply to every nested type (ports' protocol, probes, volume sources),
// and the v1→internal conversion steps that change what a request's object reads back as
// (a Secret's stringData folded into data, a Pod's serviceAccount mirrored). Functions mutate
// decoded JSON in place; quantities are already canonical (see quantities.ts).

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tag upstream's parsers.ParseImageName finds: "latest" when there is neither tag nor digest; "" when unparsable. */
export function imageTag(image: string): string {
  if (!image || /\s/.test(image)) return '';
  let name = image;
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
  }
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  let tag = '';
  if (colon > slash) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  // the repository path (after an optional domain) must be lower case
  const parts = name.split('/');
  const domainLike = parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost' || parts[0] !== parts[0]!.toLowerCase());
  const path = domainLike ? parts.slice(1) : parts;
  if (path.some((p) => !/^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$/.test(p))) return '';
  if (tag && !/^[\w][\w.-]{0,127}$/.test(tag)) return '';
  if (!tag && !digest) return 'latest';
  return tag;
}

function defaultContainer(c: Json): void {
  if (!isObj(c)) return;
  if (!c.imagePullPolicy) c.imagePullPolicy = imageTag(String(c.image ?? '')) === 'latest' ? 'Always' : 'IfNotPresent';
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of arr(c.ports)) if (isObj(p) && !p.protocol) p.protocol = 'TCP';
  for (const e of arr(c.env)) if (isObj(e?.valueFrom?.fieldRef) && !e.valueFrom.fieldRef.apiVersion) e.valueFrom.fieldRef.apiVersion = 'v1';
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const pr = c[k];
    if (!isObj(pr)) continue;
    if (!pr.timeoutSeconds) pr.timeoutSeconds = 1;
    if (!pr.periodSeconds) pr.periodSeconds = 10;
    if (!pr.successThreshold) pr.successThreshold = 1;
    if (!pr.failureThreshold) pr.failureThreshold = 3;
    defaultHTTPGet(pr.httpGet);
  }
  if (isObj(c.lifecycle)) {
    defaultHTTPGet(c.lifecycle.postStart?.httpGet);
    defaultHTTPGet(c.lifecycle.preStop?.httpGet);
  }
}

function defaultHTTPGet(h: Json): void {
  if (!isObj(h)) return;
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

const VOLUME_SOURCE_KEYS = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO', 'storageos', 'csi',
  'ephemeral', 'image',
];

function defaultSourceCommon(v: Json): void {
  if (isObj(v.hostPath) && v.hostPath.type == null) v.hostPath.type = '';
  if (isObj(v.iscsi) && !v.iscsi.iscsiInterface) v.iscsi.iscsiInterface = 'default';
  if (isObj(v.rbd)) {
    if (!v.rbd.pool) v.rbd.pool = 'rbd';
    if (!v.rbd.user) v.rbd.user = 'admin';
    if (!v.rbd.keyring) v.rbd.keyring = '/etc/ceph/keyring';
  }
  if (isObj(v.azureDisk)) {
    if (v.azureDisk.cachingMode == null) v.azureDisk.cachingMode = 'ReadWrite';
    if (v.azureDisk.kind == null) v.azureDisk.kind = 'Shared';
    if (v.azureDisk.fsType == null) v.azureDisk.fsType = 'ext4';
    if (v.azureDisk.readOnly == null) v.azureDisk.readOnly = false;
  }
  if (isObj(v.scaleIO)) {
    if (!v.scaleIO.storageMode) v.scaleIO.storageMode = 'ThinProvisioned';
    if (!v.scaleIO.fsType) v.scaleIO.fsType = 'xfs';
  }
}

function defaultVolume(v: Json): void {
  if (!isObj(v)) return;
  if (!VOLUME_SOURCE_KEYS.some((k) => v[k] != null)) v.emptyDir = {};
  defaultSourceCommon(v);
  if (isObj(v.image) && !v.image.pullPolicy) v.image.pullPolicy = imageTag(String(v.image.reference ?? '')) === 'latest' ? 'Always' : 'IfNotPresent';
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (isObj(v[k]) && v[k].defaultMode == null) v[k].defaultMode = 420;
  }
  for (const item of arr(v.downwardAPI?.items)) if (isObj(item?.fieldRef) && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
  for (const src of arr(v.projected?.sources)) {
    for (const item of arr(src?.downwardAPI?.items)) if (isObj(item?.fieldRef) && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
    if (isObj(src?.serviceAccountToken) && src.serviceAccountToken.expirationSeconds == null) src.serviceAccountToken.expirationSeconds = 3600;
  }
  if (isObj(v.ephemeral?.volumeClaimTemplate?.spec)) defaultPVCSpec(v.ephemeral.volumeClaimTemplate.spec);
}

/** SetDefaults_PodSpec and the nested defaults every PodSpec (pods and templates alike) gets. */
export function defaultPodSpec(spec: Json): void {
  if (!isObj(spec)) return;
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.securityContext == null) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds == null) spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  // v1's deprecated serviceAccount mirrors serviceAccountName (conversion through the internal type)
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const v of arr(spec.volumes)) defaultVolume(v);
  for (const c of arr(spec.initContainers)) defaultContainer(c);
  for (const c of arr(spec.containers)) defaultContainer(c);
  for (const c of arr(spec.ephemeralContainers)) defaultContainer(c);
}

export function defaultPodTemplateSpec(tpl: Json): void {
  if (isObj(tpl)) defaultPodSpec(tpl.spec ?? (tpl.spec = {}));
}

function requestsFromLimits(c: Json): void {
  if (!isObj(c?.resources?.limits)) return;
  const req = isObj(c.resources.requests) ? c.resources.requests : (c.resources.requests = {});
  for (const [k, v] of Object.entries(c.resources.limits)) if (!Object.hasOwn(req, k)) req[k] = v;
}

/** SetObjectDefaults_Pod. */
export function defaultPod(pod: Json): void {
  if (!isObj(pod)) return;
  const spec = isObj(pod.spec) ? pod.spec : (pod.spec = {});
  for (const c of arr(spec.containers)) requestsFromLimits(c);
  for (const c of arr(spec.initContainers)) requestsFromLimits(c);
  if (spec.enableServiceLinks == null) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true) {
    for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) {
      for (const p of arr(c?.ports)) if (isObj(p) && !p.hostPort) p.hostPort = p.containerPort;
    }
  }
  defaultPodSpec(spec);
}

export function defaultPodTemplate(pt: Json): void {
  if (isObj(pt)) defaultPodTemplateSpec(pt.template ?? (pt.template = {}));
}

export function defaultReplicationController(rc: Json): void {
  if (!isObj(rc)) return;
  const spec = isObj(rc.spec) ? rc.spec : (rc.spec = {});
  const labels = spec.template?.metadata?.labels;
  if (labels != null) {
    if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    const meta = isObj(rc.metadata) ? rc.metadata : (rc.metadata = {});
    if (!meta.labels || Object.keys(meta.labels).length === 0) meta.labels = { ...labels };
  }
  if (spec.replicas == null) spec.replicas = 1;
  if (spec.template != null) defaultPodTemplateSpec(spec.template);
}

/**
 * SetDefaults_Service, plus the clusterIP/clusterIPs and IP-family normalization the service
 * registry does for a single-stack IPv4 cluster (allocation itself stays with the server).
 */
export function defaultService(svc: Json): void {
  if (!isObj(svc)) return;
  const spec = isObj(svc.spec) ? svc.spec : (svc.spec = {});
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == null) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of arr(spec.ports)) {
    if (!isObj(p)) continue;
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort == null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externallyAccessible = spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
  if (externallyAccessible && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (spec.internalTrafficPolicy == null && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type)) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts == null) spec.allocateLoadBalancerNodePorts = true;
  if (spec.type === 'LoadBalancer') {
    for (const ing of arr(svc.status?.loadBalancer?.ingress)) if (isObj(ing) && ing.ip && ing.ipMode == null) ing.ipMode = 'VIP';
  }
  if (spec.type === 'ExternalName') return;
  // normalizeClusterIPs
  if (spec.clusterIP && arr(spec.clusterIPs).length === 0) spec.clusterIPs = [spec.clusterIP];
  else if (!spec.clusterIP && arr(spec.clusterIPs).length > 0) spec.clusterIP = spec.clusterIPs[0];
  const headless = spec.clusterIP === 'None';
  const selectorless = !spec.selector || Object.keys(spec.selector).length === 0;
  if (headless && selectorless) {
    if (spec.ipFamilyPolicy == null) spec.ipFamilyPolicy = 'RequireDualStack';
    if (arr(spec.ipFamilies).length === 0) spec.ipFamilies = spec.ipFamilyPolicy === 'SingleStack' ? ['IPv4'] : ['IPv4', 'IPv6'];
    return;
  }
  if (spec.ipFamilyPolicy == null) spec.ipFamilyPolicy = 'SingleStack';
  if (arr(spec.ipFamilies).length === 0) {
    const first = arr(spec.clusterIPs).find((ip) => ip && ip !== 'None');
    spec.ipFamilies = [typeof first === 'string' && first.includes(':') ? 'IPv6' : 'IPv4'];
  }
}

export function defaultEndpoints(ep: Json): void {
  for (const ss of arr(ep?.subsets)) for (const p of arr(ss?.ports)) if (isObj(p) && !p.protocol) p.protocol = 'TCP';
}

export function defaultNode(node: Json): void {
  if (!isObj(node)) return;
  const status = node.status;
  if (isObj(status) && status.allocatable == null && status.capacity != null) status.allocatable = { ...status.capacity };
}

export function defaultConfigMap(_cm: Json): void {
  // upstream's SetDefaults_ConfigMap allocates an empty data map, which serializes as absent.
}

/** SetDefaults_Secret, and stringData folded into data as upstream's conversion does (stringData wins). */
export function defaultSecret(secret: Json): void {
  if (!isObj(secret)) return;
  if (!secret.type) secret.type = 'Opaque';
  if (isObj(secret.stringData)) {
    const data = isObj(secret.data) ? secret.data : (secret.data = {});
    for (const [k, v] of Object.entries(secret.stringData)) data[k] = Buffer.from(String(v ?? ''), 'utf8').toString('base64');
  }
  delete secret.stringData;
}

export function defaultNamespace(ns: Json): void {
  if (!isObj(ns)) return;
  const meta = isObj(ns.metadata) ? ns.metadata : (ns.metadata = {});
  if (meta.name) {
    if (!isObj(meta.labels)) meta.labels = {};
    meta.labels['kubernetes.io/metadata.name'] = meta.name;
  }
  const status = isObj(ns.status) ? ns.status : (ns.status = {});
  if (!status.phase) status.phase = 'Active';
}

/** The namespace registry's create-time preparation: status Active and the `kubernetes` finalizer. */
export function prepareNamespaceForCreate(ns: Json): void {
  if (!isObj(ns)) return;
  ns.status = { phase: 'Active' };
  const spec = isObj(ns.spec) ? ns.spec : (ns.spec = {});
  const f = arr(spec.finalizers);
  if (!f.includes('kubernetes')) spec.finalizers = [...f, 'kubernetes'];
}

export function defaultPVCSpec(spec: Json): void {
  if (isObj(spec) && spec.volumeMode == null) spec.volumeMode = 'Filesystem';
}

export function defaultPersistentVolumeClaim(pvc: Json): void {
  if (!isObj(pvc)) return;
  const status = isObj(pvc.status) ? pvc.status : (pvc.status = {});
  if (!status.phase) status.phase = 'Pending';
  defaultPVCSpec(pvc.spec ?? (pvc.spec = {}));
}

export function defaultPersistentVolume(pv: Json): void {
  if (!isObj(pv)) return;
  const status = isObj(pv.status) ? pv.status : (pv.status = {});
  if (!status.phase) status.phase = 'Pending';
  const spec = isObj(pv.spec) ? pv.spec : (pv.spec = {});
  if (!spec.persistentVolumeReclaimPolicy) spec.persistentVolumeReclaimPolicy = 'Retain';
  if (spec.volumeMode == null) spec.volumeMode = 'Filesystem';
  defaultSourceCommon(spec);
}

export function defaultLimitRange(lr: Json): void {
  for (const item of arr(lr?.spec?.limits)) {
    if (!isObj(item) || item.type !== 'Container') continue;
    const def = isObj(item.default) ? item.default : (item.default = {});
    const defReq = isObj(item.defaultRequest) ? item.defaultRequest : (item.defaultRequest = {});
    for (const [k, v] of Object.entries(item.max ?? {})) if (!Object.hasOwn(def, k)) def[k] = v;
    for (const [k, v] of Object.entries(def)) if (!Object.hasOwn(defReq, k)) defReq[k] = v;
    for (const [k, v] of Object.entries(item.min ?? {})) if (!Object.hasOwn(defReq, k)) defReq[k] = v;
    if (Object.keys(def).length === 0) delete item.default;
    if (Object.keys(defReq).length === 0) delete item.defaultRequest;
  }
}
