// A container's environment, as upstream's makeEnvironmentVariables builds it: envFrom sources,
// then env in order (each value may refer to earlier ones as $(NAME)), then the service-discovery
// variables of the Services in the pod's namespace (and the `kubernetes` Service of "default"),
// which never override the container's own. Pure: the ConfigMaps, Secrets and Services are looked
// up beforehand and handed in.
import type { ConfigMap, Container, EnvVar, Pod, ResourceList, Secret, Service } from './api-types.ts';
import { milliValue, unitValue } from './qos.ts';

/** A failure that makes the container's config impossible (reported as CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface EnvSources {
  /** A ConfigMap of the pod's namespace, or undefined when it does not exist. */
  configMap(name: string): ConfigMap | undefined;
  secret(name: string): Secret | undefined;
  /** Every Service the kubelet knows (all namespaces); filtered here. */
  services: readonly Service[];
  podIPs: readonly string[];
  hostIPs: readonly string[];
  /** The node's allocatable resources: the value of a resource limit a container does not set. */
  nodeAllocatable: ResourceList;
}

export interface EnvKV {
  name: string;
  value: string;
}

/** What an expansion reference $(NAME) becomes, or undefined when NAME is not defined. */
type Mapping = (name: string) => string | undefined;

/**
 * upstream's expansion.Expand: $(NAME) is replaced when NAME is defined and left as written when
 * not; $$ is a literal $; any other $ is kept.
 */
export function expand(input: string, mapping: Mapping): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') out += '$';
    else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) out += '$(';
      else {
        const name = input.slice(cursor + 2, close);
        const v = mapping(name);
        out += v ?? `$(${name})`;
        advance = close - cursor;
      }
    } else out += `$${next}`;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** upstream's makeEnvVariableName: upper case, dashes to underscores. */
function envName(s: string): string {
  return s.replaceAll('-', '_').toUpperCase();
}

function isServiceIPSet(s: Service): boolean {
  const ip = s.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The variables for one Service (upstream's envvars.FromServices for one service). */
export function serviceEnvVars(s: Service): EnvKV[] {
  const out: EnvKV[] = [];
  const ports = s.spec?.ports ?? [];
  if (!isServiceIPSet(s) || ports.length === 0) return out;
  const ip = s.spec!.clusterIP!;
  const prefix = envName(s.metadata.name ?? '');
  out.push({ name: `${prefix}_SERVICE_HOST`, value: ip });
  out.push({ name: `${prefix}_SERVICE_PORT`, value: String(ports[0].port) });
  for (const p of ports) if (p.name) out.push({ name: `${prefix}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
  ports.forEach((p, i) => {
    const proto = (p.protocol || 'TCP').toLowerCase();
    const url = `${proto}://${hostPort(ip, p.port)}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push({ name: pp, value: url }, { name: `${pp}_PROTO`, value: proto }, { name: `${pp}_PORT`, value: String(p.port) }, { name: `${pp}_ADDR`, value: ip });
  });
  return out;
}

/**
 * The service-discovery variables a pod of `namespace` gets: those of the `kubernetes` Service of
 * the default namespace always, and of every Service of its own namespace when enableServiceLinks
 * (a same-named Service of its own namespace wins). Sorted by name, for a stable environment.
 */
export function serviceEnvMap(services: readonly Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const s of services) {
    if (!isServiceIPSet(s)) continue;
    const name = s.metadata.name ?? '';
    if (s.metadata.namespace === 'default' && name === 'kubernetes') {
      if (!chosen.has(name)) chosen.set(name, s);
    } else if (s.metadata.namespace === namespace && enableServiceLinks) {
      chosen.set(name, s);
    }
  }
  const vars: EnvKV[] = [];
  for (const name of [...chosen.keys()].sort()) vars.push(...serviceEnvVars(chosen.get(name)!));
  return new Map(vars.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((v) => [v.name, v.value]));
}

/** Decodes a Secret's data values (base64) and stringData. */
export function secretData(s: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

/** A ConfigMap's data and binaryData (decoded). */
export function configMapData(c: ConfigMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.data ?? {})) out[k] = v;
  for (const [k, v] of Object.entries(c.binaryData ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/** Relaxed environment variable names (1.33 default): printable ASCII but '='. */
export function isValidEnvVarName(name: string): boolean {
  return name.length > 0 && /^[\x20-\x3c\x3e-\x7e]+$/.test(name);
}

function quoteLabelValue(v: string): string {
  return JSON.stringify(v);
}

/** upstream's fieldpath.ExtractFieldPathAsString plus the kubelet's status-derived paths. */
export function podFieldValue(pod: Pod, fieldPath: string, podIPs: readonly string[], hostIPs: readonly string[]): string {
  switch (fieldPath) {
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
      return hostIPs[0] ?? '';
    case 'status.hostIPs':
      return hostIPs.join(',');
    case 'status.podIP':
      return podIPs[0] ?? '';
    case 'status.podIPs':
      return podIPs.join(',');
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations': {
      const m = (fieldPath === 'metadata.labels' ? pod.metadata.labels : pod.metadata.annotations) ?? {};
      return Object.keys(m).sort().map((k) => `${k}=${quoteLabelValue(m[k])}`).join('\n');
    }
  }
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (sub) {
    const m = (sub[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations) ?? {};
    return m[sub[2]] ?? '';
  }
  throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
}

/**
 * upstream's ExtractContainerResourceValue, with limits a container does not set taken from the
 * node's allocatable (MergeContainerResourceLimits): CPU in units of the divisor rounded up, other
 * resources likewise.
 */
export function containerResourceValue(container: Container, resource: string, divisor: string | number | undefined, nodeAllocatable: ResourceList): string {
  const [kind, name] = resource.split('.', 2) as ['limits' | 'requests', string];
  if ((kind !== 'limits' && kind !== 'requests') || !name) throw new ContainerConfigError(`unsupported container resource : ${resource}`);
  let value: string | number | undefined;
  if (kind === 'limits') value = container.resources?.limits?.[name] ?? nodeAllocatable[name];
  else value = container.resources?.requests?.[name];
  const d = divisor === undefined || milliValue(divisor) === 0n ? '1' : divisor;
  if (name === 'cpu') {
    const dm = milliValue(d);
    const v = milliValue(value);
    return String((v + dm - 1n) / dm);
  }
  if (name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-')) {
    const du = unitValue(d);
    const v = unitValue(value);
    return String((v + du - 1n) / du);
  }
  throw new ContainerConfigError(`unsupported container resource : ${resource}`);
}

/** The ConfigMaps and Secrets a container's environment reads. */
export function envReferences(container: Container): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const f of container.envFrom ?? []) {
    if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
    if (f.secretRef?.name) secrets.add(f.secretRef.name);
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  return { configMaps: [...configMaps], secrets: [...secrets] };
}

export interface EnvResult {
  env: EnvKV[];
  /** Keys of envFrom sources that are no valid variable names, per source (for upstream's event). */
  skipped: { kind: 'configMap' | 'secret'; name: string; keys: string[] }[];
}

function valueOf(pod: Pod, container: Container, e: EnvVar, src: EnvSources, mapping: Mapping): string | undefined {
  if (e.value !== undefined && e.value !== '') return expand(e.value, mapping);
  const vf = e.valueFrom;
  if (!vf) return '';
  const ns = pod.metadata.namespace ?? '';
  if (vf.fieldRef) return podFieldValue(pod, vf.fieldRef.fieldPath, src.podIPs, src.hostIPs);
  if (vf.resourceFieldRef) return containerResourceValue(container, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor, src.nodeAllocatable);
  if (vf.configMapKeyRef) {
    const { name = '', key, optional } = vf.configMapKeyRef;
    const cm = src.configMap(name);
    if (!cm) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    const data = configMapData(cm);
    if (!(key in data)) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
    }
    return data[key];
  }
  if (vf.secretKeyRef) {
    const { name = '', key, optional } = vf.secretKeyRef;
    const s = src.secret(name);
    if (!s) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    const data = secretData(s);
    if (!(key in data)) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
    }
    return data[key];
  }
  return '';
}

/** The container's environment, in the order the runtime gets it. Throws ContainerConfigError. */
export function makeEnvironment(pod: Pod, container: Container, src: EnvSources): EnvResult {
  const serviceEnv = serviceEnvMap(src.services, pod.metadata.namespace ?? '', pod.spec.enableServiceLinks ?? true);
  const env = new Map<string, string>();
  const skipped: EnvResult['skipped'] = [];
  for (const f of container.envFrom ?? []) {
    const prefix = f.prefix ?? '';
    let data: Record<string, string> | undefined;
    let kind: 'configMap' | 'secret';
    let name: string;
    if (f.configMapRef) {
      kind = 'configMap';
      name = f.configMapRef.name ?? '';
      const cm = src.configMap(name);
      if (!cm) {
        if (f.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      data = configMapData(cm);
    } else if (f.secretRef) {
      kind = 'secret';
      name = f.secretRef.name ?? '';
      const s = src.secret(name);
      if (!s) {
        if (f.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      data = secretData(s);
    } else continue;
    const invalid: string[] = [];
    for (const [k, v] of Object.entries(data)) {
      const key = prefix + k;
      if (!isValidEnvVarName(key)) {
        invalid.push(k);
        continue;
      }
      env.set(key, v);
    }
    if (invalid.length) skipped.push({ kind, name, keys: invalid.sort() });
  }
  for (const e of container.env ?? []) {
    const mapping: Mapping = (n) => env.get(n) ?? serviceEnv.get(n);
    const v = valueOf(pod, container, e, src, mapping);
    if (v === undefined) continue;
    env.set(e.name, v);
  }
  for (const [k, v] of serviceEnv) if (!env.has(k)) env.set(k, v);
  return { env: [...env].map(([name, value]) => ({ name, value })), skipped };
}

/** upstream's ExpandContainerCommandAndArgs: $(NAME) references in command and args, from the final environment. */
export function expandCommandAndArgs(container: Container, env: readonly EnvKV[]): { command?: string[]; args?: string[] } {
  const m = new Map(env.map((e) => [e.name, e.value]));
  const mapping: Mapping = (n) => m.get(n);
  return {
    command: container.command?.map((c) => expand(c, mapping)),
    args: container.args?.map((a) => expand(a, mapping)),
  };
}
