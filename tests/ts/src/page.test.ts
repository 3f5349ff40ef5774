// The example page (examples/web, built by run.sh into target/ts/web) against the real server
// binary in mock mode, in headless Chromium. Two servers allow the page's origin:
//
// - a healthy one: a sync and a webhook model run to completion from the page (statuses,
//   outputs, charged cost against the preview, history, one Idempotency-Key per click), a
//   422 shows the server's violations at their fields, a rolled-back model the server's 409;
// - a failing one (`--timeout-cap 1` with mock jobs of 5 s: every queued generation fails
//   with kind `timeout`; sync ones still complete; 100 credits): a failed run shows its error
//   kind and message, a run over the credits the 402, and the operations page flags the
//   failing model and lists the alerts the server fires (`GET /v1/alerts`, evaluated every
//   second there).
//
// The browser logs a line ("Failed to load resource: ... status of 422") for every answer with
// an error status; the tests allow exactly the ones they cause, by status and URL. Screenshots
// go to target/ts-artifacts/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import type { Browser, Page } from "playwright-core";

import { MODEL_IDS, MODELS, calculateCost, createClient, validateParams, type Client, type Generation, type ModelId } from "../../../generated/ts/index.js";
import { startServer, type RunningServer } from "./server.js";
import { artifacts, launch, openTab, serveSite, type PageError, type Site } from "./web.js";

/** The failing server's credits: less than gpt_image_1 at high quality with 10 images. */
const FAILING_CREDITS = 100;
/** The plan's `min_sample` (models/monitoring.yaml): fewer finished generations never alert. */
const MIN_SAMPLE = 10;

let site: Site;
let healthy: RunningServer;
let failing: RunningServer;
let browser: Browser;
/** Every Idempotency-Key the page sent, to check that each click had its own. */
const keys: string[] = [];

before(async () => {
  site = await serveSite();
  [healthy, failing] = await Promise.all([
    // Mock jobs of 3 s: a queued run is seen pending, then processing, then completed.
    startServer(["--cors-origin", site.origin, "--mock-job-ms", "3000"]),
    startServer(["--cors-origin", site.origin, "--timeout-cap", "1", "--mock-job-ms", "5000", "--initial-credits", String(FAILING_CREDITS), "--alert-interval", "1"]),
  ]);
  browser = await launch();
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  await Promise.all([healthy?.stop(), failing?.stop()]);
  await site?.close();
});

const api = (server: RunningServer): Client => createClient({ baseUrl: server.url, token: server.token });

/** The page at `path` of the served site, configured for `server` by its address. */
async function open(server: RunningServer, path: "/" | "/ops.html"): Promise<{ page: Page; errors: PageError[] }> {
  const tab = await openTab(browser);
  await tab.page.goto(`${site.origin}${path}?api=${encodeURIComponent(server.url)}&token=${encodeURIComponent(server.token)}`);
  await tab.page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  return tab;
}

/** The line the browser itself logs for an answer with HTTP `status` from `url`. */
function httpLog(status: number, url: string): (e: PageError) => boolean {
  return (e) => e.url === url && e.text.startsWith(`Failed to load resource: the server responded with a status of ${status} `);
}

/** The console errors left once the browser's lines for the expected answers are taken out. */
function unexpected(errors: readonly PageError[], ...expected: ((e: PageError) => boolean)[]): PageError[] {
  return errors.filter((e) => !expected.some((is) => is(e)));
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? "").trim();

/** The creates the page sends: their Idempotency-Key and the status they were answered. */
function recordCreates(page: Page): { key: string; status: number }[] {
  const creates: { key: string; status: number }[] = [];
  page.on("response", (r) => {
    const req = r.request();
    if (req.method() === "POST" && new URL(req.url()).pathname === "/v1/generations") {
      const key = req.headers()["idempotency-key"] ?? "";
      creates.push({ key, status: r.status() });
      keys.push(key);
    }
  });
  return creates;
}

/** Every status the run panel shows from now on, in order. */
async function watchStatuses(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const run = document.getElementById("run");
    const seen: string[] = [];
    Object.assign(window, { seenStatuses: seen });
    new MutationObserver(() => {
      const status = run?.dataset["status"] ?? "";
      if (seen.at(-1) !== status) seen.push(status);
    }).observe(run ?? document.body, { attributes: true, attributeFilter: ["data-status"] });
  });
  return () => page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);
}

/** Choose `model`, fill `fields` (or choose their values), and click Generate. */
async function generate(page: Page, model: ModelId, fields: Record<string, string>): Promise<void> {
  await page.selectOption("[data-testid=model]", model);
  for (const [name, value] of Object.entries(fields)) {
    const field = `[data-testid=param-${name}]`;
    if ((await page.locator(field).evaluate((el) => el.tagName)) === "SELECT") {
      await page.selectOption(field, value);
    } else {
      await page.fill(field, value);
    }
  }
  await page.click("[data-testid=generate]");
}

/** Click Refresh on the operations page and wait for that refresh to finish. */
async function refreshOps(page: Page): Promise<void> {
  const before = Number(await page.getAttribute("body", "data-refreshes"));
  await page.click("[data-testid=refresh]");
  await page.waitForFunction((n) => Number(document.body.dataset["refreshes"]) > n, before);
}

/** The generation the run panel shows, read from the API. */
async function shownGeneration(page: Page, server: RunningServer): Promise<Generation> {
  const id = await page.getAttribute("#run", "data-id");
  assert.ok(id !== null && id !== "", "the run panel names no generation");
  return api(server).getGeneration(id);
}

/** `seen` is in the order a generation goes through (a state may be skipped, never revisited). */
function assertOrdered(seen: readonly string[], final: "completed" | "failed"): void {
  const order = ["sending", "pending", "processing", final];
  assert.equal(seen[0], "sending", `statuses seen: ${seen.join(", ")}`);
  assert.equal(seen.at(-1), final, `statuses seen: ${seen.join(", ")}`);
  const ranks = seen.map((s) => order.indexOf(s));
  assert.ok(
    ranks.every((r, i) => r >= 0 && (i === 0 || r > (ranks[i - 1] ?? -1))),
    `statuses out of order: ${seen.join(", ")}`,
  );
}

/** A completed run's outputs: the right media element per output, with its URL as src. */
async function assertOutputs(page: Page, g: Generation, tag: "img" | "video" | "audio"): Promise<void> {
  const outputs = g.outputs ?? [];
  assert.ok(outputs.length > 0, "the generation has no output");
  const media = page.locator(`#outputs ${tag}[data-testid=output]`);
  assert.equal(await media.count(), outputs.length);
  for (const [i, out] of outputs.entries()) {
    assert.equal(out.kind, "url");
    assert.equal(await media.nth(i).getAttribute("src"), out.value);
    // The mock serves the file with the content type of its extension...
    const file = await fetch(out.value);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get("content-type"), { img: "image/png", video: "video/mp4", audio: "audio/mpeg" }[tag]);
    const body = await file.text();
    // ...and a line of text as its bytes, which Chromium cannot decode: the page shows a note
    // in place of a broken element, and nothing reaches the console.
    const figure = page.locator("#outputs figure").nth(i);
    await page.waitForSelector(`#outputs figure:nth-child(${i + 1})[data-state]`, { timeout: 10_000 });
    if (body.startsWith("mock file ")) {
      assert.equal(await figure.getAttribute("data-state"), "undecodable");
      assert.match(await text(page, `#outputs figure:nth-child(${i + 1}) [data-testid=output-note]`), /could not be shown as/);
    } else {
      assert.equal(await figure.getAttribute("data-state"), "loaded");
    }
  }
}

test("the page loads connected to the server, with no console errors", async () => {
  const { page, errors } = await open(healthy, "/");
  assert.match(await text(page, "[data-testid=connection]"), /^Connected to http:\/\/127\.0\.0\.1:\d+ · balance 1000 credits, 1000 available$/);
  assert.equal(await text(page, "[data-testid=history-note]"), "None yet.");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a sync model runs to completion: its image, and the charged cost equal to the preview", async () => {
  const { page, errors } = await open(healthy, "/");
  const creates = recordCreates(page);
  const statuses = await watchStatuses(page);
  const preview = calculateCost("runware_flux_1_schnell", { prompt: "A red apple" });
  await page.selectOption("[data-testid=model]", "runware_flux_1_schnell");
  await page.fill("[data-testid=param-prompt]", "A red apple");
  assert.equal(await text(page, "[data-testid=cost]"), `${preview} credits`);
  await page.click("[data-testid=generate]");
  await page.waitForSelector("#run[data-status=completed]", { timeout: 30_000 });

  const g = await shownGeneration(page, healthy);
  assert.equal(g.model, "runware_flux_1_schnell");
  assert.equal(g.status, "completed");
  assert.equal(g.charged, preview);
  assert.equal(await text(page, "[data-testid=run-preview]"), `${preview} credits`);
  assert.equal(await text(page, "[data-testid=run-charged]"), `${g.charged} credits (= the preview)`);
  assert.match(await text(page, "[data-testid=run-elapsed]"), /^\d+\.\d s of about 10 s expected$/);
  assert.equal(await text(page, "[data-testid=run-status]"), "completed");
  await assertOutputs(page, g, "img");
  assertOrdered(await statuses(), "completed");

  // One create, with a key of its own; the history, refreshed, starts with it.
  assert.equal(creates.length, 1);
  assert.ok([200, 201].includes(creates[0]?.status ?? 0), `create answered ${creates[0]?.status}`);
  assert.match(creates[0]?.key ?? "", /^[0-9a-f-]{32,36}$/);
  await page.waitForSelector(`#history li[data-id="${g.id}"]`);
  assert.equal(await page.getAttribute("#history li:first-child", "data-id"), g.id);
  assert.equal(await page.getAttribute("#history li:first-child", "data-status"), "completed");
  await page.waitForSelector(`[data-testid=connection][data-balance="${1000 - Number(preview)}"]`);
  await page.screenshot({ path: join(artifacts, "page-sync.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a webhook model goes pending, processing, completed; a click in the history shows a run again", async () => {
  const { page, errors } = await open(healthy, "/");
  const creates = recordCreates(page);
  const statuses = await watchStatuses(page);
  await generate(page, "replicate_flux_dev", { prompt: "A lighthouse at dusk", num_outputs: "2" });
  const preview = calculateCost("replicate_flux_dev", { prompt: "A lighthouse at dusk", num_outputs: 2 });
  await page.waitForSelector("#run[data-status=completed]", { timeout: 30_000 });

  const seen = await statuses();
  assertOrdered(seen, "completed");
  assert.ok(seen.includes("pending") && seen.includes("processing"), `statuses seen: ${seen.join(", ")}`);
  const g = await shownGeneration(page, healthy);
  assert.equal(g.model, "replicate_flux_dev");
  assert.equal(g.charged, preview);
  assert.equal(await text(page, "[data-testid=run-charged]"), `${preview} credits (= the preview)`);
  assert.match(await text(page, "[data-testid=run-elapsed]"), /^\d+\.\d s of about 15 s expected$/);
  await assertOutputs(page, g, "img");
  assert.equal(creates.length, 1);

  // The history, newest first, as the API lists it; the older run shows again on a click.
  await page.waitForSelector(`#history li[data-id="${g.id}"]`);
  const listed = (await api(healthy).listGenerations()).data.map((x) => x.id);
  assert.deepEqual(await page.locator("#history li").evaluateAll((els) => els.map((e) => e.getAttribute("data-id"))), listed);
  const older = listed[1];
  assert.ok(older !== undefined);
  await page.click(`#history li[data-id="${older}"] button`);
  assert.equal(await page.getAttribute("#run", "data-id"), older);
  const shown = await api(healthy).getGeneration(older);
  assert.equal(await text(page, "[data-testid=run-status]"), shown.status);
  assert.equal(await text(page, "[data-testid=run-title]"), MODELS[shown.model].displayName);
  assert.equal(await text(page, "[data-testid=run-charged]"), `${shown.charged ?? ""} credits (= the preview)`);

  assert.equal(new Set(keys).size, keys.length, `an Idempotency-Key was sent twice: ${keys.join(", ")}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a validation error: the server's 422 shows each violation at its field, as validateParams gives them", async () => {
  const { page, errors } = await open(healthy, "/");
  const creates = recordCreates(page);
  await generate(page, "seedance_v1_lite", { prompt: "", seed: "-5" });
  await page.waitForSelector("[data-testid=problem][data-kind=invalid_params]", { timeout: 15_000 });

  const expected = validateParams("seedance_v1_lite", { seed: -5 });
  assert.ok(!expected.ok);
  assert.deepEqual(
    expected.violations.map((v) => v.message),
    ["prompt is required", "seed must be at least -1 (got -5)"],
  );
  assert.deepEqual(creates.map((c) => c.status), [422]);
  assert.equal(await page.getAttribute("[data-testid=violations]", "data-source"), "server");
  assert.deepEqual(await page.locator("[data-testid=violations] li").allTextContents(), expected.violations.map((v) => v.message));
  assert.deepEqual(
    await page.locator("[data-testid=violations] li").evaluateAll((els) => els.map((e) => e.getAttribute("data-code"))),
    expected.violations.map((v) => v.code),
  );
  assert.equal(await text(page, "[data-testid=error-prompt]"), "prompt is required");
  assert.equal(await text(page, "[data-testid=error-seed]"), "seed must be at least -1 (got -5)");
  assert.equal(await text(page, "[data-testid=problem-title]"), "The server refused the params (HTTP 422 invalid_params)");
  assert.equal(await text(page, "[data-testid=run-status]"), "not started");
  await page.screenshot({ path: join(artifacts, "page-invalid.png"), fullPage: true });
  assert.deepEqual(unexpected(errors, httpLog(422, `${healthy.url}/v1/generations`)), []);
  await page.close();
});

test("the rolled-back model: the server's 409 model_disabled message", async () => {
  const disabled = MODEL_IDS.filter((id) => !MODELS[id].enabled);
  assert.equal(disabled.length, 1);
  const model = disabled[0] ?? "kling_v2_master_text_to_video";
  const { page, errors } = await open(healthy, "/");
  const creates = recordCreates(page);
  await generate(page, model, { prompt: "A storm over the sea" });
  await page.waitForSelector("[data-testid=problem][data-kind=model_disabled]", { timeout: 15_000 });
  assert.deepEqual(creates.map((c) => c.status), [409]);
  assert.equal(await text(page, "[data-testid=problem-title]"), "This model is disabled (HTTP 409 model_disabled)");
  assert.equal(
    await text(page, "[data-testid=problem-detail]"),
    `model \`${model}\` is disabled: it was rolled back and is not run. Pick another model.`,
  );
  // Nothing was recorded or charged.
  assert.deepEqual((await api(healthy).listGenerations({ model })).data, []);
  assert.deepEqual(unexpected(errors, httpLog(409, `${healthy.url}/v1/generations`)), []);
  await page.close();
});

test("more than the credits: the 402 message, nothing charged", async () => {
  const params = { prompt: "A red apple", quality: "high", n: 10 } as const;
  const cost = calculateCost("gpt_image_1", params);
  assert.ok(Number(cost) > FAILING_CREDITS);
  const { page, errors } = await open(failing, "/");
  await generate(page, "gpt_image_1", { prompt: params.prompt, quality: params.quality, n: String(params.n) });
  await page.waitForSelector("[data-testid=problem][data-kind=insufficient_credits]", { timeout: 15_000 });
  assert.equal(await text(page, "[data-testid=problem-title]"), "Not enough credits (HTTP 402 insufficient_credits)");
  assert.match(await text(page, "[data-testid=problem-detail]"), new RegExp(`\\(this run costs ${cost} credits\\)\\. Nothing was charged\\.$`));
  assert.equal((await api(failing).getAccount()).balance, String(FAILING_CREDITS));
  assert.deepEqual(unexpected(errors, httpLog(402, `${failing.url}/v1/generations`)), []);
  await page.close();
});

test("a failed generation shows its error kind and message (a timeout), charged nothing", async () => {
  const { page, errors } = await open(failing, "/");
  const statuses = await watchStatuses(page);
  await generate(page, "replicate_flux_dev", { prompt: "A lighthouse at dusk" });
  await page.waitForSelector("#run[data-status=failed]", { timeout: 30_000 });
  assertOrdered(await statuses(), "failed");
  const g = await shownGeneration(page, failing);
  assert.equal(g.status, "failed");
  assert.equal(g.error?.kind, "timeout");
  assert.equal(await page.getAttribute("[data-testid=problem]", "data-kind"), "failed");
  assert.equal(await text(page, "[data-testid=problem-title]"), "Failed: it did not finish within the model's timeout (timeout)");
  assert.equal(await text(page, "[data-testid=problem-detail]"), g.error.message);
  assert.equal(await text(page, "[data-testid=run-charged]"), "0 credits (a failed generation is not charged)");
  assert.equal(await text(page, "#run-steps li:last-child"), "failed");
  assert.equal(await page.locator("#outputs figure").count(), 0);
  await page.waitForSelector(`#history li[data-id="${g.id}"][data-status=failed]`);
  await page.screenshot({ path: join(artifacts, "page-failed.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

/** The status `server` answers `GET /v1/alerts` with. */
async function alertsStatus(server: RunningServer): Promise<number> {
  return (await fetch(`${server.url}/v1/alerts`, { headers: { Authorization: `Bearer ${server.token}` } })).status;
}

test("the operations page loads with no console errors", async () => {
  assert.equal(await alertsStatus(healthy), 200);
  const { page, errors } = await open(healthy, "/ops.html");
  assert.deepEqual(errors, []);
  // The healthy server's runs above: its models completed, within their expected latency.
  const row = page.locator("#stats tr[data-model=runware_flux_1_schnell]");
  assert.equal(await row.getAttribute("data-level"), "ok");
  assert.equal(await row.locator("[data-col=success]").textContent(), "100%");
  assert.match(await text(page, "[data-testid=stats-scope]"), /covers the listed generations only/);
  assert.equal(await page.getAttribute("[data-testid=stats-summary]", "data-level"), "ok");
  await page.close();
});

test("the operations page: the failing model amber, everything red, from the listed generations", async () => {
  // Enough failures for the plan's alerts to have their sample (the page's run above is one).
  const client = api(failing);
  const runs = await Promise.all(
    Array.from({ length: MIN_SAMPLE }, (_, i) => client.runGeneration("replicate_flux_dev", { prompt: `A lighthouse, take ${i}` }, { wait: 5, interval: 200 })),
  );
  assert.deepEqual(new Set(runs.map((g) => `${g.status} ${g.error?.kind ?? ""}`)), new Set(["failed timeout"]));
  const listed = (await client.listGenerations({ model: "replicate_flux_dev", limit: 100 })).data;
  assert.ok(listed.length > MIN_SAMPLE);

  const { page, errors } = await open(failing, "/ops.html");
  const row = page.locator("#stats tr[data-model=replicate_flux_dev]");
  assert.equal(await row.getAttribute("data-level"), "warning");
  assert.equal(await row.locator("[data-col=failed]").textContent(), String(listed.length));
  assert.equal(await row.locator("[data-col=success]").textContent(), "0%");
  assert.equal(await row.locator("[data-testid=reason]").textContent(), "100% failed (above 50%)");
  assert.match((await row.locator(".last-error").textContent()) ?? "", /^timeout: /);
  const all = page.locator("#stats tr[data-model=all]");
  assert.equal(await all.getAttribute("data-level"), "critical");
  assert.equal(await all.locator("[data-testid=reason]").textContent(), "every finished generation failed; success 0% (under 90%)");
  assert.equal(await page.getAttribute("[data-testid=stats-summary]", "data-level"), "critical");
  // Red and amber, as a person sees them.
  const background = (selector: string) => page.locator(selector).first().evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(await background("#stats tr[data-model=all] td"), "rgb(253, 232, 230)");
  assert.equal(await background("#stats tr[data-model=replicate_flux_dev] td"), "rgb(255, 244, 224)");
  await page.screenshot({ path: join(artifacts, "ops.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the operations page lists the alerts the failing server fires", async () => {
  assert.equal(await alertsStatus(failing), 200);
  // The server evaluates its alerts every second: wait for the evaluation after the failures.
  let served: { data: { severity: string }[] } = { data: [] };
  for (let i = 0; i < 50 && served.data.length === 0; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    served = (await (await fetch(`${failing.url}/v1/alerts`, { headers: { Authorization: `Bearer ${failing.token}` } })).json()) as { data: { severity: string }[] };
  }
  assert.ok(served.data.length > 0, "the failing server fires no alert");
  const { page, errors } = await open(failing, "/ops.html");
  assert.equal(await page.locator("#alerts tbody tr").count(), served.data.length);
  const critical = served.data.filter((a) => a.severity === "critical").length;
  assert.ok(critical > 0, "no critical alert while every generation fails");
  assert.equal(await page.locator("#alerts tbody tr.critical").count(), critical);
  assert.equal(await page.getAttribute("[data-testid=alerts-summary]", "data-level"), "critical");
  await page.screenshot({ path: join(artifacts, "ops-alerts.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the alerts view: the answer's shape, sorted critical first, red and amber; a 404 said plainly", async () => {
  const { page } = await open(healthy, "/ops.html");
  const alerts = [
    { severity: "warning", rule: "high_latency", subject: "seedance_v1_lite", observed: "612.5", threshold: "480", window: "1h", sample: 14, action: "investigate the provider", since: "2026-12-01T10:00:00Z" },
    { severity: "critical", rule: "high_error_rate", subject: "", observed: "45.00", threshold: "20", window: "15m", sample: 22, action: "check provider status and logs", since: "2026-12-01T10:05:00Z" },
  ];
  let answer: { status: number; body: unknown } = { status: 200, body: { data: alerts } };
  // The API's own preflight stands; the GET is answered here.
  await page.route(`${healthy.url}/v1/alerts`, (route) =>
    route.request().method() === "GET"
      ? route.fulfill({
          status: answer.status,
          contentType: "application/json",
          headers: { "access-control-allow-origin": site.origin },
          body: JSON.stringify(answer.body),
        })
      : route.continue(),
  );
  await refreshOps(page);
  const rows = page.locator("#alerts tbody tr");
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => [e.className, e.getAttribute("data-rule")])), [
    ["critical", "high_error_rate"],
    ["warning", "high_latency"],
  ]);
  const cells = await rows.nth(0).locator("td").allTextContents();
  assert.deepEqual(cells.slice(0, 6), ["critical", "high_error_rate", "everything", "45.00 / 20", "15m (22 generations)", "check provider status and logs"]);
  assert.match(cells[6] ?? "", /\d\d:\d\d:\d\d$/);
  assert.equal(await text(page, "[data-testid=alerts-summary]"), "1 critical, 1 warning firing.");
  assert.equal(await rows.nth(0).locator("td").first().evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(253, 232, 230)");
  assert.equal(await rows.nth(1).locator("td").first().evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(255, 244, 224)");
  await page.screenshot({ path: join(artifacts, "ops-alerts-view.png"), fullPage: true });

  answer = { status: 200, body: { data: [{ ...alerts[0], sample: "many" }] } };
  await refreshOps(page);
  assert.equal(await text(page, "[data-testid=alerts-summary]"), "alerts unavailable (HTTP 200): the answer does not match the alerts' shape: data[0].sample has the wrong type");

  answer = { status: 404, body: { error: { code: "not_found", message: "no route GET /v1/alerts" } } };
  await refreshOps(page);
  assert.equal(await text(page, "[data-testid=alerts-summary]"), "alerts unavailable (HTTP 404): no route GET /v1/alerts");
  assert.equal(await page.isVisible("#alerts"), false);
  await page.close();
});
