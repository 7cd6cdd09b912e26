// Ages as kubectl shows them: upstream's duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration),
// two or three significant figures ("9m4s", "3h5m", "2d3h", "3y2d"), and its tolerance of clocks
// that run slightly apart ("0s" for up to a second in the future, "<invalid>" beyond that).

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Go's integer division of durations: the quotient truncated toward zero. */
function whole(ms: number, unit: number): number {
  return Math.trunc(ms / unit);
}

/** HumanDuration for a duration given in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = whole(ms, SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = whole(ms, MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = whole(ms, HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${whole(hours, 24)}d` : `${whole(hours, 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${whole(hours, 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = whole(hours, 24);
    const dy = days % 365;
    return dy === 0 ? `${whole(days, 365)}y` : `${whole(days, 365)}y${dy}d`;
  }
  return `${whole(hours, 24 * 365)}y`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds since the epoch for an RFC 3339 timestamp (metav1.Time or MicroTime, whose
 * fraction may be finer than a millisecond), or undefined for anything else, including the
 * absent and null values that stand for Go's zero time.
 */
export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = RFC3339.exec(v);
  if (!m) return undefined;
  let t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (m[7]) t += Number(m[7]) * SECOND;
  const zone = m[8]!;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    t -= sign * (Number(zone.slice(1, 3)) * HOUR + Number(zone.slice(4, 6)) * MINUTE);
  }
  return t;
}

/** upstream's translateTimestampSince: "<unknown>" for a zero (absent) time, else its age at now. */
export function since(timestamp: unknown, now: Date): string {
  const t = parseTimestamp(timestamp);
  if (t === undefined) return '<unknown>';
  return humanDuration(now.getTime() - t);
}
