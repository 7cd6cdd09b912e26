// What goes into configMap, secret, downwardAPI and projected volumes, pure (upstream's
// MakePayload functions in pkg/volume/{configmap,secret,downwardapi,projected}): every key as a
// file, or only the listed items at their paths, with the item's mode or the volume's defaultMode
// (0644 when none).
import type { ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, ResourceList, Secret } from '../api-types.ts';
import { configMapData, containerResourceValue, podFieldValue } from '../env.ts';
import type { Payload } from './atomic-writer.ts';

export const DEFAULT_MODE = 0o644;

export class VolumeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeSetupError';
  }
}

function rawSecretData(s: Secret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = Buffer.from(v, 'utf8');
  return out;
}

function rawConfigMapData(c: ConfigMap): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(configMapData({ ...c, binaryData: undefined }))) out[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(c.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function keysPayload(
  data: Record<string, Buffer>,
  items: readonly KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean,
  missingKey: (key: string) => string,
): Payload {
  const mode = defaultMode ?? DEFAULT_MODE;
  const out: Payload = new Map();
  if (!items?.length) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: v, mode });
    return out;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeSetupError(missingKey(it.key));
    }
    out.set(it.path, { data: v, mode: it.mode ?? mode });
  }
  return out;
}

/** A configMap volume's files; cm undefined means it does not exist (empty when optional). */
export function configMapPayload(cm: ConfigMap | undefined, name: string, items: readonly KeyToPath[] | undefined, defaultMode: number | undefined, optional: boolean): Payload {
  if (!cm) {
    if (optional) return new Map();
    throw new VolumeSetupError(`configmap "${name}" not found`);
  }
  return keysPayload(rawConfigMapData(cm), items, defaultMode, optional, (k) => `configmap references non-existent config key: ${k}`);
}

export function secretPayload(s: Secret | undefined, name: string, items: readonly KeyToPath[] | undefined, defaultMode: number | undefined, optional: boolean): Payload {
  if (!s) {
    if (optional) return new Map();
    throw new VolumeSetupError(`secret "${name}" not found`);
  }
  return keysPayload(rawSecretData(s), items, defaultMode, optional, (k) => `references non-existent secret key: ${k}`);
}

/** A downwardAPI volume's files: pod fields and container resources (node allocatable for unset limits). */
export function downwardApiPayload(pod: Pod, items: readonly DownwardAPIVolumeFile[] | undefined, defaultMode: number | undefined, nodeAllocatable: ResourceList): Payload {
  const mode = defaultMode ?? DEFAULT_MODE;
  const out: Payload = new Map();
  for (const it of items ?? []) {
    let value: string;
    if (it.fieldRef) value = podFieldValue(pod, it.fieldRef.fieldPath, [], []);
    else if (it.resourceFieldRef) {
      const name = it.resourceFieldRef.containerName;
      const c = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === name);
      if (!c) throw new VolumeSetupError(`container ${name ?? ''}: container not found`);
      value = containerResourceValue(c, it.resourceFieldRef.resource, it.resourceFieldRef.divisor, nodeAllocatable);
    } else continue;
    out.set(it.path, { data: Buffer.from(value, 'utf8'), mode: it.mode ?? mode });
  }
  return out;
}
