// The registries file (`--registry-config`), in k3s's registries.yaml format:
//
//   mirrors:
//     docker.io:                       # a registry host, or "*" for every registry without its own entry
//       endpoint: ["http://10.0.0.1:5000"]
//   configs:
//     "10.0.0.1:5000":                 # a host as it appears in an endpoint (or an image name)
//       auth: {username: u, password: p}            # or auth: <base64 user:pass>, or identity_token
//       tls: {ca_file: …, cert_file: …, key_file: …, insecure_skip_verify: true}
//
// containerd 1.6's CRI plugin reads mirrors and configs from its own config.toml (containerd.ts
// writes them there). k3s's `rewrite` rules have no equivalent in containerd 1.6 and are refused
// rather than silently ignored.
import { parse } from 'yaml';

export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  identity_token?: string;
}
export interface RegistryTLS {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  insecure_skip_verify?: boolean;
}
export interface RegistriesConfig {
  mirrors: Record<string, { endpoint: string[] }>;
  configs: Record<string, { auth?: RegistryAuth; tls?: RegistryTLS }>;
}

const AUTH_KEYS = ['username', 'password', 'auth', 'identity_token'] as const;
const TLS_STRING_KEYS = ['ca_file', 'cert_file', 'key_file'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks a registries file; errors name the file and the offending key in one line. */
export function parseRegistries(text: string, source = 'registries file'): RegistriesConfig {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (e) {
    throw new Error(`${source}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const bad = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (!isObject(doc)) bad('expected a mapping with "mirrors" and "configs"');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (k !== 'mirrors' && k !== 'configs') bad(`unknown key "${k}" (expected mirrors, configs)`);
  const out: RegistriesConfig = { mirrors: {}, configs: {} };
  if (d.mirrors !== undefined && d.mirrors !== null) {
    if (!isObject(d.mirrors)) bad('mirrors: expected a mapping of registry host to {endpoint: [...]}');
    for (const [host, m] of Object.entries(d.mirrors as Record<string, unknown>)) {
      if (!isObject(m)) bad(`mirrors.${host}: expected {endpoint: [...]}`);
      const mm = m as Record<string, unknown>;
      for (const k of Object.keys(mm)) {
        if (k === 'rewrite') bad(`mirrors.${host}.rewrite: rewrite rules are not supported by rudder's containerd (1.6)`);
        if (k !== 'endpoint') bad(`mirrors.${host}: unknown key "${k}"`);
      }
      const ep = mm.endpoint ?? [];
      if (!Array.isArray(ep) || ep.some((e) => typeof e !== 'string' || e === '')) bad(`mirrors.${host}.endpoint: expected a list of URLs`);
      for (const e of ep as string[]) {
        if (/^[a-z]+:\/\//i.test(e) && !/^https?:\/\//i.test(e)) bad(`mirrors.${host}.endpoint: "${e}" is not an http or https URL`);
      }
      out.mirrors[host] = { endpoint: [...(ep as string[])] };
    }
  }
  if (d.configs !== undefined && d.configs !== null) {
    if (!isObject(d.configs)) bad('configs: expected a mapping of registry host to {auth, tls}');
    for (const [host, c] of Object.entries(d.configs as Record<string, unknown>)) {
      if (!isObject(c)) bad(`configs.${host}: expected {auth, tls}`);
      const cc = c as Record<string, unknown>;
      const entry: { auth?: RegistryAuth; tls?: RegistryTLS } = {};
      for (const k of Object.keys(cc)) if (k !== 'auth' && k !== 'tls') bad(`configs.${host}: unknown key "${k}"`);
      if (cc.auth !== undefined) {
        if (!isObject(cc.auth)) bad(`configs.${host}.auth: expected a mapping`);
        const a: RegistryAuth = {};
        for (const [k, v] of Object.entries(cc.auth as Record<string, unknown>)) {
          if (!(AUTH_KEYS as readonly string[]).includes(k)) bad(`configs.${host}.auth: unknown key "${k}"`);
          if (typeof v !== 'string') bad(`configs.${host}.auth.${k}: expected a string`);
          a[k as (typeof AUTH_KEYS)[number]] = v as string;
        }
        entry.auth = a;
      }
      if (cc.tls !== undefined) {
        if (!isObject(cc.tls)) bad(`configs.${host}.tls: expected a mapping`);
        const t: RegistryTLS = {};
        for (const [k, v] of Object.entries(cc.tls as Record<string, unknown>)) {
          if (k === 'insecure_skip_verify') {
            if (typeof v !== 'boolean') bad(`configs.${host}.tls.insecure_skip_verify: expected true or false`);
            t.insecure_skip_verify = v as boolean;
          } else if ((TLS_STRING_KEYS as readonly string[]).includes(k)) {
            if (typeof v !== 'string') bad(`configs.${host}.tls.${k}: expected a file path`);
            t[k as (typeof TLS_STRING_KEYS)[number]] = v as string;
          } else bad(`configs.${host}.tls: unknown key "${k}"`);
        }
        entry.tls = t;
      }
      out.configs[host] = entry;
    }
  }
  return out;
}
