// resource.Quantity with upstream's (k8s.io/apimachinery/pkg/api/resource) parsing, rounding and
// canonical serialization. A quantity is held exactly as a count of nano-units (10^-9) in a
// bigint: upstream rounds every parsed value up (away from zero) to nano precision, so no value a
// Quantity can hold is lost. Upstream keeps the text a quantity was parsed from when that text
// is already in its canonical shape ("100Mi", "+1", "01" survive a round trip); `text` carries it.

export type QuantityFormat = 'DecimalExponent' | 'BinarySI' | 'DecimalSI';

export interface Quantity {
  /** The value in units of 10^-9. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
  /** The text to serialize instead of the canonical form, as upstream's cached string. */
  readonly text?: string;
}

export const QUANTITY_REGEX = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const ERR_FORMAT_WRONG = `quantities must match the regular expression '${QUANTITY_REGEX}'`;
export const ERR_NUMERIC = 'unable to parse numeric part of quantity';
export const ERR_SUFFIX = "unable to parse quantity's suffix";

/** Thrown by parseQuantity; the message is upstream's error text. */
export class QuantityError extends Error {}

const NANO = 1_000_000_000n;
const INT64_MAX = (1n << 63n) - 1n;

interface Suffix {
  base: 2 | 10;
  exponent: number;
  format: QuantityFormat;
}

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_EXPONENT = new Map(Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e, s]));

function interpretSuffix(s: string): Suffix | undefined {
  if (Object.hasOwn(DECIMAL_SUFFIXES, s)) return { base: 10, exponent: DECIMAL_SUFFIXES[s]!, format: 'DecimalSI' };
  if (Object.hasOwn(BINARY_SUFFIXES, s)) return { base: 2, exponent: BINARY_SUFFIXES[s]!, format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E')) {
    const rest = s.slice(1);
    // Go's strconv.ParseInt: optional sign, decimal digits, within int64.
    if (!/^[+-]?[0-9]+$/.test(rest)) return undefined;
    const n = BigInt(rest);
    if (n > INT64_MAX || n < -INT64_MAX - 1n) return undefined;
    // upstream truncates the exponent to int32
    return { base: 10, exponent: Number(BigInt.asIntN(32, n)), format: 'DecimalExponent' };
  }
  return undefined;
}

interface Split {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** upstream's parseQuantityString, step for step (its quirks are observable in error cases). */
function splitQuantity(str: string): Split {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end) {
    if (str[0] === '-') {
      positive = false;
      pos++;
    } else if (str[0] === '+') pos++;
  }
  // leading zeroes
  for (;;) {
    if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
    if (str[pos] !== '0') break;
    pos++;
  }
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
  let num = str.slice(pos, i);
  pos = i;
  if (num.length === 0) num = '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    if (i >= end) return { positive, value: str, num, denom: str.slice(pos), suffix: '' };
    denom = str.slice(pos, i);
    pos = i;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  i = pos;
  while (i < end && 'eEinumkKMGTP'.includes(str[i]!)) i++;
  if (i >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  pos = i;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  throw new QuantityError(ERR_FORMAT_WRONG);
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** |a| / 10^k rounded away from zero (upstream's inf.RoundUp). */
function divRoundUp(a: bigint, d: bigint): bigint {
  const q = a / d;
  if (q * d === a) return q;
  return a < 0n ? q - 1n : q + 1n;
}

/** Parses a quantity as upstream's ParseQuantity; throws QuantityError with upstream's message. */
export function parseQuantity(input: string): Quantity {
  const str = input;
  if (str.length === 0) throw new QuantityError(ERR_FORMAT_WRONG);
  if (str === '0') return { nanos: 0n, format: 'DecimalSI', text: '0' };
  const { positive, value, num, denom, suffix } = splitQuantity(str);
  const suf = interpretSuffix(suffix);
  if (!suf) throw new QuantityError(ERR_SUFFIX);
  let format = suf.format;

  // upstream's int64 fast path decides whether the original text is kept.
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (format === 'BinarySI') {
    if (suf.exponent >= 0 && denom.length === 0) {
      mantissa = 1n << BigInt(suf.exponent);
      precision = 15 - num.length - Math.trunc((suf.exponent * 3) / 10) - 1;
    } else precision = -1;
  } else {
    scale = suf.exponent;
    precision = 18 - (num.length + denom.length);
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= -9) {
      const shifted = num + denom;
      const v = BigInt(shifted);
      let result = v * mantissa;
      if (result <= INT64_MAX) {
        if (!positive) result = -result;
        const nanos = scale >= 0 ? result * pow10(scale) * NANO : result * pow10(9 + scale);
        let keep: boolean;
        if (format === 'BinarySI') keep = suf.exponent % 10 === 0 && (v & 7n) !== 0n;
        else keep = scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
        return keep ? { nanos, format, text: str } : { nanos, format };
      }
    }
  }

  // Arbitrary-precision path: exact decimal, rounded up to nano precision.
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(value)) throw new QuantityError(ERR_NUMERIC);
  const digits = num + denom; // the magnitude as an integer, scaled by 10^-len(denom)
  let unscaled = BigInt(digits); // magnitude
  let decScale = denom.length; // value = unscaled * 10^-decScale
  if (suf.base === 10) decScale -= suf.exponent;
  else unscaled *= 1n << BigInt(suf.exponent);
  // to nanos, rounding up
  let nanos: bigint;
  if (decScale <= 9) nanos = unscaled * pow10(9 - decScale);
  else nanos = divRoundUp(unscaled, pow10(decScale - 9));
  if (format === 'BinarySI' && nanos > INT64_MAX * NANO) nanos = INT64_MAX * NANO;
  if (format === 'BinarySI' && nanos < NANO && nanos > 0n) format = 'DecimalSI';
  if (!positive) nanos = -nanos;
  return { nanos, format };
}

/** Parses a JSON value (string or number) as upstream's Quantity.UnmarshalJSON does. */
export function quantityFromJSON(v: unknown): Quantity {
  if (typeof v === 'number') return parseQuantity(String(v));
  if (typeof v === 'string') return parseQuantity(v.trim());
  throw new QuantityError(ERR_FORMAT_WRONG);
}

/** Returns the error message for a malformed quantity, or undefined when it parses. */
export function quantityError(v: unknown): string | undefined {
  try {
    quantityFromJSON(v);
    return undefined;
  } catch (e) {
    if (e instanceof QuantityError) return e.message;
    throw e;
  }
}

function removeFactors(v: bigint, base: bigint): [bigint, number] {
  let times = 0;
  const neg = v < 0n;
  let r = neg ? -v : v;
  while (r >= base && r % base === 0n) {
    r /= base;
    times++;
  }
  return [neg ? -r : r, times];
}

/** The canonical text of a quantity (upstream's CanonicalizeBytes), ignoring any kept text. */
export function canonicalString(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    if (q.nanos > -1024n * NANO && q.nanos < 1024n * NANO) format = 'DecimalSI';
    else if (q.nanos % NANO !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    const [m, times] = removeFactors(q.nanos / NANO, 1024n);
    return m.toString() + (BINARY_BY_EXPONENT.get(times * 10) ?? '');
  }
  let [m, e] = removeFactors(q.nanos, 10n);
  e -= 9;
  while (e % 3 !== 0) {
    m *= 10n;
    e--;
  }
  let suffix: string;
  if (format === 'DecimalExponent') suffix = e === 0 ? '' : `e${e}`;
  else suffix = DECIMAL_BY_EXPONENT.get(e) ?? '';
  return m.toString() + suffix;
}

/** The text upstream serializes a quantity as: the kept text, or the canonical form. */
export function quantityString(q: Quantity): string {
  return q.text ?? canonicalString(q);
}

/**
 * upstream's SetDefaults_ResourceList: values in a resource list are rounded up (away from zero)
 * to milli precision; a rounded value loses its kept text.
 */
export function roundUpToMilli(q: Quantity): Quantity {
  const r = q.nanos % 1_000_000n;
  if (r === 0n) return q;
  return { nanos: q.nanos - r + (q.nanos < 0n ? -1_000_000n : 1_000_000n), format: q.format };
}

/** Parses and re-serializes, as a decode/encode round trip through the apiserver does. */
export function canonicalizeQuantity(v: unknown): string {
  return quantityString(quantityFromJSON(v));
}

export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** a + b; the result takes b's format when a is zero, as upstream's Add. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export function subtractQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos - b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export function isZeroQuantity(q: Quantity): boolean {
  return q.nanos === 0n;
}

export function quantitySign(q: Quantity): -1 | 0 | 1 {
  return q.nanos < 0n ? -1 : q.nanos > 0n ? 1 : 0;
}

/** The value in whole units, rounded away from zero (upstream's Value()). */
export function quantityValue(q: Quantity): bigint {
  return divRoundUp(q.nanos, NANO);
}

/** The value in thousandths, rounded away from zero (upstream's MilliValue()). */
export function quantityMilliValue(q: Quantity): bigint {
  return divRoundUp(q.nanos, 1_000_000n);
}

/** True when the value is a whole number (upstream's "must be an integer" checks). */
export function isIntegerQuantity(q: Quantity): boolean {
  return q.nanos % NANO === 0n;
}

/** A quantity from a whole number of units, in the given format. */
export function quantityFromInt(n: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nanos: BigInt(n) * NANO, format };
}

/** A quantity from thousandths (upstream's NewMilliQuantity). */
export function quantityFromMilli(n: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nanos: BigInt(n) * 1_000_000n, format };
}
