// The JSON forms of Kubernetes' time types, as Go renders and parses them:
// metav1.Time is RFC 3339 in UTC with whole seconds, metav1.MicroTime has six fractional digits,
// metav1.Duration is Go's time.Duration string ("1h2m3.5s"). Parsers throw RangeError on bad input.

const MAX_UNIX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z, the last instant RFC 3339 can write
const MIN_UNIX_SECONDS = -62135596800; // 0001-01-01T00:00:00Z

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function civil(seconds: number): string {
  if (!(seconds >= MIN_UNIX_SECONDS && seconds <= MAX_UNIX_SECONDS)) throw new RangeError(`time ${seconds}s is outside years 1-9999`);
  const d = new Date(seconds * 1000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
}

/** metav1.Time: "2006-01-02T15:04:05Z". */
export function formatTime(seconds: number): string {
  return `${civil(seconds)}Z`;
}

/** metav1.MicroTime: "2006-01-02T15:04:05.000000Z" (nanoseconds truncated to microseconds). */
export function formatMicroTime(seconds: number, nanos: number): string {
  return `${civil(seconds)}.${pad(Math.floor(nanos / 1000), 6)}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses RFC 3339 (Go's time.RFC3339, which also accepts fractional seconds). */
export function parseTime(s: string): { seconds: number; nanos: number } {
  const m = RFC3339.exec(s);
  if (!m) throw new RangeError(`parsing time "${s}" as RFC 3339 failed`);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new RangeError(`parsing time "${s}": field out of range`);
  }
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as written
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  if (d.getUTCDate() !== day) throw new RangeError(`parsing time "${s}": day out of range`);
  let seconds = Math.floor(d.getTime() / 1000);
  if (m[9]) {
    const off = (Number(m[10]) * 60 + Number(m[11])) * 60;
    seconds -= m[9] === '+' ? off : -off;
  }
  const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

const NS = 1n;
const US = 1000n * NS;
const MS = 1000n * US;
const S = 1000n * MS;
const MIN = 60n * S;
const HOUR = 60n * MIN;

/** Fraction digits of v / 10^prec, trailing zeros and a bare '.' omitted, as Go's fmtFrac. */
function frac(v: bigint, prec: number): { whole: bigint; text: string } {
  const scale = 10n ** BigInt(prec);
  const f = v % scale;
  let text = '';
  if (f !== 0n) text = '.' + f.toString().padStart(prec, '0').replace(/0+$/, '');
  return { whole: v / scale, text };
}

/** Go's time.Duration.String() for a nanosecond count. */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < S) {
    if (u < US) out = `${u}ns`;
    else if (u < MS) {
      const f = frac(u, 3);
      out = `${f.whole}${f.text}µs`;
    } else {
      const f = frac(u, 6);
      out = `${f.whole}${f.text}ms`;
    }
  } else {
    const f = frac(u, 9);
    u = f.whole; // whole seconds
    out = `${u % 60n}${f.text}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

const UNITS: Record<string, bigint> = { ns: NS, us: US, 'µs': US, 'μs': US, ms: MS, s: S, m: MIN, h: HOUR };
const MAX_INT64 = (1n << 63n) - 1n;

/** Go's time.ParseDuration: e.g. "300ms", "-1.5h", "2h45m". */
export function parseDuration(s: string): bigint {
  const orig = s;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw new RangeError(`time: invalid duration "${orig}"`);
  let total = 0n;
  const re = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (s) {
    const m = re.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw new RangeError(`time: invalid duration "${orig}"`);
    const unit = UNITS[m[3]];
    if (unit === undefined) throw new RangeError(`time: unknown unit "${m[3]}" in duration "${orig}"`);
    let v = BigInt(m[1] || '0') * unit;
    if (m[2]) v += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
    total += v;
    if (total > MAX_INT64 + (neg ? 1n : 0n)) throw new RangeError(`time: invalid duration "${orig}"`);
    s = s.slice(m[0].length);
  }
  return neg ? -total : total;
}
