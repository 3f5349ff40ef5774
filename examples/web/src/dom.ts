// Small DOM helpers shared by the pages.

/** A new element with attributes and, optionally, text. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    el.setAttribute(name, value);
  }
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

/** The element with id `id`, which must be a `type`. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) {
    throw new Error(`#${id} is missing`);
  }
  return el;
}

/** "about 15 s", "about 4 min": a model's expected latency or timeout, for people. */
export function roughly(ms: number): string {
  return ms >= 60_000 ? `about ${Math.round(ms / 60_000)} min` : `about ${Math.round(ms / 1000)} s`;
}

/** "0.8 s", "12.4 s", "3 min 05 s": a measured time. */
export function seconds(ms: number): string {
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** Milliseconds from RFC 3339 time `from` to `to`, or `undefined` when either is missing. */
export function between(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A local time of day ("14:03:07"), with the date when it is not today. */
export function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}
