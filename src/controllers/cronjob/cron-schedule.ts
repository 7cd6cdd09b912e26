// When a cron schedule fires next, in a time zone: robfig/cron's SpecSchedule.Next (what upstream's
// CronJob controller uses) over the fields src/api/validation/cron.ts parses. Wall-clock fields
// are read in the zone through Intl; whole months, days and hours that cannot match are skipped
// in one step, so a year-long search costs a few hundred zone conversions at most.
//
// Daylight-saving transitions follow the wall clock, as robfig's minute-by-minute walk does: a
// time that does not exist in the zone (inside a spring-forward gap) never matches, and a wall
// time in a repeated (fall-back) hour matches at both of its instants.
import type { CronSchedule } from '../../api/validation/cron.ts';

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  dow: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in a zone ("UTC" and "" are UTC). */
export function wallTime(ms: number, zone: string): WallTime {
  if (zone === 'UTC' || zone === '') {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), dow: d.getUTCDay() };
  }
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const year = p.year!;
  const month = p.month!;
  const day = p.day!;
  return { year, month, day, hour: p.hour! % 24, minute: p.minute!, second: p.second!, dow: new Date(Date.UTC(year, month - 1, day)).getUTCDay() };
}

/** The zone's offset from UTC at an instant, in ms. */
export function zoneOffsetMs(ms: number, zone: string): number {
  const w = wallTime(ms, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time denotes in a zone (the later offset wins in a gap). */
export function wallToInstant(year: number, month: number, day: number, hour: number, minute: number, zone: string): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  if (zone === 'UTC' || zone === '') return guess;
  const off1 = zoneOffsetMs(guess, zone);
  let t = guess - off1;
  const off2 = zoneOffsetMs(t, zone);
  if (off2 !== off1) t = guess - off2;
  return t;
}

function dayMatches(s: CronSchedule, w: WallTime): boolean {
  const dom = s.dom.has(w.day);
  const dow = s.dow.has(w.dow);
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

const FIVE_YEARS_MS = 5 * 366 * 24 * 3600_000;

/** The process's local zone (what upstream's controller-manager uses when a CronJob names none). */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * The first time strictly after `afterMs` the schedule fires, in `zone` (the schedule's own TZ=
 * prefix wins); undefined when none within five years (robfig answers the zero time).
 */
export function nextFire(s: CronSchedule, afterMs: number, zone: string): number | undefined {
  if (s.everyMs !== undefined) {
    const delay = s.everyMs < 1000 ? 1000 : s.everyMs - (s.everyMs % 1000);
    return Math.floor(afterMs / 1000) * 1000 + delay;
  }
  const z = s.timeZone ?? zone;
  let cur = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  const limit = afterMs + FIVE_YEARS_MS;
  while (cur <= limit) {
    const w = wallTime(cur, z);
    let next: number;
    if (!s.month.has(w.month)) {
      next = w.month === 12 ? wallToInstant(w.year + 1, 1, 1, 0, 0, z) : wallToInstant(w.year, w.month + 1, 1, 0, 0, z);
    } else if (!dayMatches(s, w)) {
      const d = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
      next = wallToInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, z);
    } else if (!s.hour.has(w.hour)) {
      next = cur + (60 - w.minute) * 60_000 - w.second * 1000;
    } else if (!s.minute.has(w.minute)) {
      next = cur + 60_000;
    } else return cur;
    cur = next > cur ? next : cur + 60_000;
  }
  return undefined;
}

/** RFC 3339 with the zone's offset ("Z" for UTC), as Go's time.Format(time.RFC3339) after In(zone). */
export function formatInZone(ms: number, zone: string): string {
  const off = zone === 'UTC' || zone === '' ? 0 : zoneOffsetMs(ms, zone);
  const w = wallTime(ms, zone);
  const pad = (n: number, l = 2) => String(n).padStart(l, '0');
  const base = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  if (off === 0) return `${base}Z`;
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off) / 60_000;
  return `${base}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
