// The operations page: the alerts firing now (`GET /v1/alerts`), and success rate and latency
// per model against the registry's expected latency, computed from the generations the API
// lists. Red is critical, amber a warning; it refreshes every 10 s.
import { findModel, type Client, type Generation } from "../../../generated/ts/index.js";

import { fetchAlerts, type Alert, type AlertsResult } from "./alerts.js";
import { byId, element, roughly, seconds, when } from "./dom.js";
import { carryQuery, clientFor, loadSettings, settingsPanel, showAccount, unreachable } from "./settings.js";
import { percent, summarize, type Stats } from "./stats.js";

/** Pages of 100 read for the numbers: the newest 1000 generations at most. */
const MAX_PAGES = 10;
const REFRESH_MS = 10_000;

const settings = loadSettings();
const client = clientFor(settings);
const { status: connection } = settingsPanel(byId("settings", HTMLElement), settings);
carryQuery(byId("nav", HTMLElement));

const updated = byId("updated", HTMLElement);
const alertsSummary = byId("alerts-summary", HTMLElement);
const alertsTable = byId("alerts", HTMLTableElement);
const statsScope = byId("stats-scope", HTMLElement);
const statsSummary = byId("stats-summary", HTMLElement);
const statsTable = byId("stats", HTMLTableElement);

function banner(el: HTMLElement, level: string, text: string): void {
  el.className = `banner ${level}`;
  el.dataset["level"] = level;
  el.textContent = text;
}

function cell(text: string, attrs: Record<string, string> = {}): HTMLTableCellElement {
  return element("td", attrs, text);
}

const SEVERITY_RANK: { readonly [severity: string]: number } = { critical: 0, warning: 1 };

function showAlerts(result: AlertsResult): void {
  const body = alertsTable.tBodies[0];
  if (body === undefined) return;
  if (!result.ok) {
    alertsTable.hidden = true;
    body.replaceChildren();
    const status = result.status === undefined ? "no answer" : `HTTP ${result.status}`;
    banner(alertsSummary, "unavailable", `alerts unavailable (${status}): ${result.message}`);
    return;
  }
  const alerts = [...result.alerts].sort(
    (a, b) => (SEVERITY_RANK[a.severity] ?? 2) - (SEVERITY_RANK[b.severity] ?? 2) || (a.since ?? "").localeCompare(b.since ?? ""),
  );
  alertsTable.hidden = alerts.length === 0;
  body.replaceChildren(...alerts.map(alertRow));
  const critical = alerts.filter((a) => a.severity === "critical").length;
  const warnings = alerts.length - critical;
  if (alerts.length === 0) {
    banner(alertsSummary, "ok", "No alerts firing.");
  } else {
    const parts = [critical > 0 ? `${critical} critical` : "", warnings > 0 ? `${warnings} ${warnings === 1 ? "warning" : "warnings"}` : ""];
    banner(alertsSummary, critical > 0 ? "critical" : "warning", `${parts.filter((p) => p !== "").join(", ")} firing.`);
  }
}

function alertRow(alert: Alert): HTMLTableRowElement {
  const level = alert.severity === "critical" ? "critical" : "warning";
  const row = element("tr", { class: level, "data-rule": alert.rule, "data-severity": alert.severity });
  const show = (v: string | number | null) => (v === null ? "—" : String(v));
  row.append(
    element("td", {}),
    cell(alert.rule),
    cell(alert.subject === "" ? "everything" : alert.subject),
    cell(`${show(alert.observed)} / ${show(alert.threshold)}`, { class: "num" }),
    cell(`${show(alert.window)}${alert.sample === null ? "" : ` (${alert.sample} generations)`}`),
    cell(alert.action),
    cell(alert.since === null ? "—" : when(alert.since), { class: "num" }),
  );
  row.cells[0]?.append(element("span", { class: `badge ${level}` }, alert.severity));
  return row;
}

function statsRow(stats: Stats, all: boolean): HTMLTableRowElement {
  const row = element("tr", { class: stats.level, "data-model": stats.model, "data-level": stats.level });
  const name = element("td", {});
  name.append(element("strong", {}, all ? "All models" : (findModel(stats.model)?.displayName ?? stats.model)));
  if (!all) name.append(element("small", { class: "hint" }, ` ${stats.model}`));
  if (stats.reasons.length > 0) name.append(element("div", { class: "reason", "data-testid": "reason" }, stats.reasons.join("; ")));
  const latency = stats.meanLatencyMs === undefined ? "—" : `${seconds(stats.meanLatencyMs)} (${seconds(stats.maxLatencyMs ?? stats.meanLatencyMs)})`;
  row.append(
    name,
    cell(String(stats.completed + stats.failed), { class: "num" }),
    cell(String(stats.completed), { class: "num" }),
    cell(String(stats.failed), { class: "num", "data-col": "failed" }),
    cell(String(stats.running), { class: "num" }),
    cell(stats.successRate === undefined ? "—" : percent(stats.successRate), { class: "num", "data-col": "success" }),
    cell(latency, { class: "num" }),
    cell(stats.expectedLatencyMs === undefined ? "" : roughly(stats.expectedLatencyMs), { class: "num" }),
    cell(stats.lastError === undefined ? "" : `${stats.lastError.kind}: ${stats.lastError.message}`, { class: "last-error" }),
  );
  return row;
}

/** The newest generations, up to {@link MAX_PAGES} pages; `complete` when none are left out. */
async function listed(api: Client): Promise<{ generations: Generation[]; complete: boolean }> {
  const generations: Generation[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i += 1) {
    const page = await api.listGenerations({ limit: 100, ...(cursor === undefined ? {} : { cursor }) });
    generations.push(...page.data);
    cursor = page.next_cursor;
    if (cursor === undefined) return { generations, complete: true };
  }
  return { generations, complete: false };
}

async function showStats(api: Client): Promise<void> {
  const body = statsTable.tBodies[0];
  if (body === undefined) return;
  let read: { generations: Generation[]; complete: boolean };
  try {
    read = await listed(api);
  } catch (error) {
    banner(statsSummary, "unavailable", unreachable(error, settings));
    return;
  }
  const { generations, complete } = read;
  const oldest = generations.at(-1)?.created_at;
  statsScope.textContent =
    generations.length === 0
      ? "Computed in this page from the generations the API lists for this token: there are none yet."
      : `Computed in this page from the ${generations.length} generations the API lists for this token (GET /v1/generations), since ${oldest === undefined ? "the start" : when(oldest)}${complete ? "" : `; older ones are not counted`}. It covers the listed generations only: the thresholds of the plan's alerts, without their time windows or minimum sample. Latency is from creation to completion, of the completed ones.`;
  const { all, models } = summarize(generations);
  statsTable.hidden = generations.length === 0;
  body.replaceChildren(...(generations.length === 0 ? [] : [statsRow(all, true), ...models.map((m) => statsRow(m, false))]));
  const flagged = models.filter((m) => m.level !== "ok").length;
  const level = all.level === "critical" ? "critical" : flagged > 0 || all.level === "warning" ? "warning" : "ok";
  const summary =
    generations.length === 0
      ? "No generations listed."
      : `${all.successRate === undefined ? "none finished" : `${percent(all.successRate)} succeeded`} across ${generations.length} listed${flagged > 0 ? `; ${flagged} ${flagged === 1 ? "model needs" : "models need"} attention` : ""}${all.reasons.length > 0 ? ` (${all.reasons.join("; ")})` : ""}.`;
  banner(statsSummary, level, summary);
}

let refreshes = 0;

async function refresh(): Promise<void> {
  if (client === undefined) {
    banner(alertsSummary, "unavailable", "Not connected: set the API URL and the token above.");
    banner(statsSummary, "unavailable", "Not connected.");
    return;
  }
  const account = client.getAccount().then(
    (a) => showAccount(connection, { account: a }, settings),
    (error: unknown) => showAccount(connection, { error }, settings),
  );
  await Promise.all([fetchAlerts(settings).then(showAlerts), showStats(client), account]);
  updated.textContent = `updated ${when(new Date().toISOString())}`;
  refreshes += 1;
  document.body.dataset["refreshes"] = String(refreshes);
}

let timer: number | undefined;
async function refreshLoop(): Promise<void> {
  window.clearTimeout(timer);
  await refresh();
  timer = window.setTimeout(() => void refreshLoop(), REFRESH_MS);
}

byId("refresh", HTMLButtonElement).addEventListener("click", () => void refreshLoop());
void refreshLoop().finally(() => {
  document.body.dataset["ready"] = "true";
});
