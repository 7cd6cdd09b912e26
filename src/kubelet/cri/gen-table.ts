// Development-time generator: derives rudder's table of CRI v1 wire facts (service methods, message
// and field names, numbers, types, enum values) from upstream's published definition. Output:
// src/kubelet/cri/cri-v1.json (committed). Nothing of the input but names, numbers and types is kept
// (no comments, no options), and only the messages the listed methods reach.
//
// Usage: node src/kubelet/cri/gen-table.ts <api.proto> [--release <tag>]
// where <api.proto> is k8s.io/cri-api's pkg/apis/runtime/v1/api.proto at the release rudder speaks,
// e.g. `git -C cri-api show v0.36.0:pkg/apis/runtime/v1/api.proto > /tmp/api.proto`.
//
// Why v0.36.0 and not a later patch release: from v0.36.3 on, KeyValue.value is `bytes`, while
// containerd 1.6 (Debian 12) still decodes it as a string; as `bytes`, a JS string would be sent
// base64-decoded and garble every environment variable.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// The RPCs rudder calls. Streaming list/metrics RPCs newer than containerd 1.6 are left out.
export const METHODS: Record<string, string[]> = {
  RuntimeService: [
    'Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
    'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers', 'ContainerStatus',
    'UpdateContainerResources', 'ReopenContainerLog', 'ExecSync', 'Exec', 'Attach', 'PortForward',
    'ContainerStats', 'ListContainerStats', 'PodSandboxStats', 'ListPodSandboxStats', 'UpdateRuntimeConfig', 'Status',
    'GetContainerEvents', 'RuntimeConfig',
  ],
  ImageService: ['ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'],
};

interface JsonField { type: string; id: number; rule?: string; keyType?: string }
interface JsonType { fields?: Record<string, JsonField>; values?: Record<string, number>; oneofs?: Record<string, { oneof: string[] }>; nested?: Record<string, JsonType> }

function main(): void {
  const args = process.argv.slice(2);
  let release = 'unknown';
  const ri = args.indexOf('--release');
  if (ri >= 0) {
    release = args[ri + 1];
    args.splice(ri, 2);
  }
  if (!args[0]) {
    console.error('usage: node src/kubelet/cri/gen-table.ts <api.proto> [--release <tag>]');
    process.exit(2);
  }
  const parsed = protobuf.parse(readFileSync(args[0], 'utf8'), { keepCase: true, alternateCommentMode: false });
  const ns = parsed.root.lookup('runtime.v1') as protobuf.Namespace;
  const types: Record<string, JsonType> = {};
  const services: Record<string, { methods: Record<string, { requestType: string; responseType: string; responseStream?: boolean }> }> = {};

  parsed.root.resolveAll();
  const seen = new Set<string>();
  // Nested types (e.g. SecurityProfile.ProfileType) stay nested, so the type names fields use
  // resolve as they do in the source.
  const slot = (full: string): JsonType => {
    const parts = full.split('.');
    let level = types;
    let node: JsonType | undefined;
    for (const p of parts) {
      node = level[p] ??= {};
      level = node.nested ??= {};
    }
    return node!;
  };
  const reach = (t: protobuf.ReflectionObject): void => {
    const full = t.fullName.replace(/^\.runtime\.v1\./, '');
    if (seen.has(full)) return;
    seen.add(full);
    const out = slot(full);
    if (t instanceof protobuf.Enum) {
      out.values = { ...t.values };
      return;
    }
    const m = t as protobuf.Type;
    out.fields = {};
    for (const f of m.fieldsArray) {
      const jf: JsonField = { type: f.type, id: f.id };
      if (f.repeated) jf.rule = 'repeated';
      if (f instanceof protobuf.MapField) jf.keyType = f.keyType;
      out.fields[f.name] = jf;
      if (f.resolvedType) reach(f.resolvedType);
    }
    const oneofs = m.oneofsArray.filter((o) => !o.name.startsWith('_'));
    if (oneofs.length) out.oneofs = Object.fromEntries(oneofs.map((o) => [o.name, { oneof: o.oneof }]));
  };

  for (const [svcName, methods] of Object.entries(METHODS)) {
    const svc = ns.lookupService(svcName);
    services[svcName] = { methods: {} };
    for (const name of methods) {
      const m = svc.methods[name];
      if (!m) throw new Error(`${svcName}.${name} is not in ${args[0]}`);
      services[svcName].methods[name] = {
        requestType: m.requestType,
        responseType: m.responseType,
        ...(m.responseStream ? { responseStream: true } : {}),
      };
      reach(m.resolvedRequestType!);
      reach(m.resolvedResponseType!);
    }
  }
  const prune = (level: Record<string, JsonType>): Record<string, JsonType> =>
    Object.fromEntries(Object.keys(level).sort().map((k) => {
      const { nested, ...rest } = level[k];
      return [k, nested && Object.keys(nested).length ? { ...rest, nested: prune(nested) } : rest];
    }));
  const sorted = prune(types);
  const table = {
    source: `k8s.io/cri-api ${release} pkg/apis/runtime/v1 (names, numbers and types only)`,
    nested: { runtime: { nested: { v1: { nested: { ...sorted, ...services } } } } },
  };
  const out = join(dirname(fileURLToPath(import.meta.url)), 'cri-v1.json');
  // One line per field and enum value table keeps the file reviewable.
  const text = JSON.stringify(table, null, 1).replace(/\{\n[^{}]*?\}/g, (m) => m.replace(/\n\s*/g, ' '));
  writeFileSync(out, text + '\n');
  console.log(`wrote ${out}: ${seen.size} types, ${Object.values(METHODS).flat().length} methods`);
}

main();
