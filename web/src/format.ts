// Dates, durations and numbers in the page's locale.

import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { t, locale } from "./i18n";

export function seconds(d: Duration | undefined): number {
  return d ? Number(d.seconds) + d.nanos / 1e9 : 0;
}

export function date(ts: Timestamp | undefined): Date | null {
  return ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)) : null;
}

const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
const dayOnly = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });

export function when(ts: Timestamp | undefined): string {
  const d = date(ts);
  return d ? dateTime.format(d) : "–";
}

export function day(ts: Timestamp | undefined): string {
  const d = date(ts);
  return d ? dayOnly.format(d) : "–";
}

export function num(x: number, digits = 2): string {
  return x.toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function percent(x: number): string {
  return x.toLocaleString(locale, { style: "percent", maximumFractionDigits: 0 });
}

/** A length of time in the largest unit that keeps it readable. */
export function age(secs: number): string {
  if (secs < 60) return `${num(secs, 1)} ${t.seconds}`;
  if (secs < 3600) return `${num(secs / 60, 0)} ${t.minutes}`;
  if (secs < 72 * 3600) return `${num(secs / 3600, 1)} ${t.hours}`;
  return `${num(secs / 86400, 1)} ${t.days}`;
}

/** The unit a plot of these seconds reads best in. */
export function unitFor(maxSecs: number): { div: number; name: string } {
  if (maxSecs < 120) return { div: 1, name: t.seconds };
  if (maxSecs < 2 * 3600) return { div: 60, name: t.minutes };
  if (maxSecs < 72 * 3600) return { div: 3600, name: t.hours };
  return { div: 86400, name: t.days };
}
