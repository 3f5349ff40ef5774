// `GET /v1/alerts`: the alerts firing now, as the deployment plan's monitoring computes them
// (`monitoring_alerts` in generated/sql/005_alerts.sql), read with the page's token.
//
//   {"data": [{"severity", "rule", "subject", "observed", "threshold", "window", "sample",
//              "action", "since"}]}
import type { Settings } from "./settings.js";

/** One firing alert. */
export interface Alert {
  /** `critical` or `warning`. */
  readonly severity: string;
  /** The rule that fired (`high_error_rate`, `model_failing`, ...). */
  readonly rule: string;
  /** What it fired for: a model, a provider, a key scope, or everything. */
  readonly subject: string;
  /** The value the rule measured. */
  readonly observed: string | number | null;
  /** The value it fires beyond. */
  readonly threshold: string | number | null;
  /** The window measured (`15m`, `1h`). */
  readonly window: string | number | null;
  /** How many generations the window held. */
  readonly sample: number | null;
  /** What the plan says to do. */
  readonly action: string;
  /** Since when it fires (RFC 3339). */
  readonly since: string | null;
}

/** The alerts, or why they could not be read (`status` when the API answered). */
export type AlertsResult = { readonly ok: true; readonly alerts: readonly Alert[] } | { readonly ok: false; readonly status?: number; readonly message: string };

type Check = (value: unknown) => boolean;
const text: Check = (v) => typeof v === "string";
const scalar: Check = (v) => v === null || v === undefined || typeof v === "string" || typeof v === "number";
const count: Check = (v) => v === null || v === undefined || Number.isInteger(v);
const FIELDS: { readonly [K in keyof Alert]: Check } = {
  severity: text,
  rule: text,
  subject: (v) => v === null || v === undefined || typeof v === "string",
  observed: scalar,
  threshold: scalar,
  window: scalar,
  sample: count,
  action: (v) => v === null || v === undefined || typeof v === "string",
  since: (v) => v === null || v === undefined || typeof v === "string",
};

const textOf = (v: unknown): string | null => (typeof v === "string" ? v : null);
const scalarOf = (v: unknown): string | number | null => (typeof v === "string" || typeof v === "number" ? v : null);

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The alerts of an answer body, or what in it does not match the shape above. */
export function parseAlerts(body: unknown): { alerts: Alert[] } | { mismatch: string } {
  if (!isRecord(body) || !Array.isArray(body["data"])) return { mismatch: "the body has no data list" };
  const alerts: Alert[] = [];
  for (const [i, item] of body["data"].entries()) {
    if (!isRecord(item)) return { mismatch: `data[${i}] is not an object` };
    for (const [name, ok] of Object.entries(FIELDS)) {
      if (!ok(item[name])) return { mismatch: `data[${i}].${name} has the wrong type` };
    }
    alerts.push({
      severity: textOf(item["severity"]) ?? "",
      rule: textOf(item["rule"]) ?? "",
      subject: textOf(item["subject"]) ?? "",
      observed: scalarOf(item["observed"]),
      threshold: scalarOf(item["threshold"]),
      window: scalarOf(item["window"]),
      sample: typeof item["sample"] === "number" ? item["sample"] : null,
      action: textOf(item["action"]) ?? "",
      since: textOf(item["since"]),
    });
  }
  return { alerts };
}

/** Read the firing alerts. Never throws: a failure is a result that says what happened. */
export async function fetchAlerts(settings: Settings, signal?: AbortSignal): Promise<AlertsResult> {
  let response: Response;
  try {
    response = await fetch(`${settings.api}/v1/alerts`, {
      headers: { Accept: "application/json", Authorization: `Bearer ${settings.token}` },
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const detail = isRecord(body) && isRecord(body["error"]) && typeof body["error"]["message"] === "string" ? body["error"]["message"] : response.statusText;
    return { ok: false, status: response.status, message: detail };
  }
  const parsed = parseAlerts(body);
  if ("mismatch" in parsed) return { ok: false, status: response.status, message: `the answer does not match the alerts' shape: ${parsed.mismatch}` };
  return { ok: true, alerts: parsed.alerts };
}
