// Flag parsing for the rudder command line. Each subcommand declares its flags in a table; the
// parser turns argv into one typed object or a one-line error. No component parses flags or
// reads process.env itself: the CLI builds their configuration from what this returns.

export type FlagType = 'string' | 'bool' | 'int' | 'duration' | 'list';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  /** Shown in --help instead of the type, e.g. "DIR". */
  metavar?: string;
  required?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export class UsageError extends Error {}

/** Parses "--name value", "--name=value" and bare bool flags; returns values and the positional args. */
export function parseFlags(specs: FlagSpec[], argv: string[]): { values: FlagValues; args: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: FlagValues = {};
  for (const s of specs) if (s.default !== undefined) values[s.name] = Array.isArray(s.default) ? [...s.default] : s.default;
  const args: string[] = [];
  let setLists = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag: --${name}`);
    let raw: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === 'bool') {
      if (raw === undefined) values[name] = true;
      else if (raw === 'true' || raw === 'false') values[name] = raw === 'true';
      else throw new UsageError(`invalid value "${raw}" for flag --${name}: must be true or false`);
      continue;
    }
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
      raw = argv[++i]!;
    }
    values[name] = convert(spec, raw, values[name], setLists);
  }
  for (const s of specs) {
    if (s.required && (values[s.name] === undefined || values[s.name] === '')) throw new UsageError(`required flag --${s.name} not set`);
  }
  setLists = new Set();
  return { values, args };
}

function convert(spec: FlagSpec, raw: string, prev: FlagValues[string], setLists: Set<string>): FlagValues[string] {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`invalid value "${raw}" for flag --${spec.name}: must be an integer`);
      return Number(raw);
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) throw new UsageError(`invalid value "${raw}" for flag --${spec.name}: must be a duration such as 40s, 5m or 1h30m`);
      return ms;
    }
    case 'list': {
      // The first use of a list flag replaces its default; later uses append. Values may be comma-separated.
      const base = setLists.has(spec.name) && Array.isArray(prev) ? prev : [];
      setLists.add(spec.name);
      return [...base, ...raw.split(',').filter((x) => x !== '')];
    }
    default:
      return raw;
  }
}

/** Go-style durations ("300ms", "40s", "5m", "1h30m", "24h") to milliseconds. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    const n = Number(m[1]);
    const unit = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'];
    total += n * unit;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

export function formatHelp(usage: string, summary: string, specs: FlagSpec[]): string {
  const lines = [`Usage: ${usage}`, '', summary, ''];
  if (specs.length) {
    lines.push('Flags:');
    const rows = specs.map((s) => {
      const mv = s.type === 'bool' ? '' : ` ${s.metavar ?? s.type.toUpperCase()}`;
      const def = s.default !== undefined && s.default !== false && !(Array.isArray(s.default) && s.default.length === 0)
        ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : s.type === 'duration' ? formatDuration(Number(s.default)) : s.default})`
        : '';
      return [`  --${s.name}${mv}`, `${s.help}${def}`];
    });
    const w = Math.max(...rows.map((r) => r[0]!.length)) + 2;
    for (const [a, b] of rows) lines.push(a!.padEnd(w) + b);
  }
  return lines.join('\n');
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
