import { html, type Html } from '@pipewright/kit';
import type { Labels } from '@pipewright/contracts';

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Dollars with enough digits for the cents-and-less that model calls cost. */
export function usd(x: number): string {
  if (x === 0) return '$0';
  if (x >= 100) return `$${x.toFixed(2)}`;
  return `$${x < 0.0001 ? x.toFixed(6) : x.toFixed(4)}`;
}

export const count = (n: number) => n.toLocaleString('en-US');

/** A span of time in the largest unit that keeps it readable: `850 ms`, `42 s`, `3 min`, `5 h`, `2 d`. */
export function span(ms: number): string {
  const a = Math.abs(ms);
  if (a < SECOND_MS) return `${Math.round(a)} ms`;
  if (a < 90 * SECOND_MS) return `${Math.round(a / SECOND_MS)} s`;
  if (a < 90 * MINUTE_MS) return `${Math.round(a / MINUTE_MS)} min`;
  if (a < 36 * HOUR_MS) return `${Math.round(a / HOUR_MS)} h`;
  return `${Math.round(a / DAY_MS)} d`;
}

/** `2026-05-01 12:00:03 UTC`: unambiguous for people in any time zone. */
export function utc(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `3 min ago`, kept current in the browser by the page script (`data-ago`). */
export function ago(iso: string, now: number): Html {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return html`${iso}`;
  return html`<time datetime="${iso}" title="${utc(iso)}" data-ago>${span(now - t)} ago</time>`;
}

export function statusBadge(status: string): Html {
  return html`<span class="status st-${status}">${status.replaceAll('_', ' ')}</span>`;
}

/** A label as a chip that filters the runs list by it. */
export function labelChips(labels: Labels): Html[] {
  return Object.entries(labels).map(([k, v]) => html`<a class="chip" href="/runs?${new URLSearchParams({ label: `${k}=${v}` }).toString()}">${k}=${v}</a>`);
}

/** Pretty JSON of a value, or undefined for none. */
export function prettyJson(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // Values come from JSON messages, so they always stringify; a function or symbol alone gives undefined.
  return JSON.stringify(value, null, 2) ?? undefined;
}

/** The size of a text in bytes, for people: `812 B`, `4.2 KB`, `1.3 MB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
