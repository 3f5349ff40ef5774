// The example page (examples/web, built by run.sh into target/ts/web) in headless Chromium:
// pick a model, change params, see the exact cost and the registry's validation messages.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";

import { chromium, type Browser, type Page } from "playwright-core";

import { MODEL_IDS, MODELS, calculateCost, modelsByContentType } from "../../../generated/ts/index.js";
import { repoRoot } from "./support.js";

const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

const site = join(repoRoot(), "target", "ts", "web");
const artifacts = join(repoRoot(), "target", "ts-artifacts");
let server: Server;
let browser: Browser;
let page: Page;
let url: string;

/** A static file server on loopback for the built page. */
function serve(dir: string): Promise<Server> {
  const s = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dir, path.endsWith("/") ? join(path, "index.html") : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

before(async () => {
  assert.ok(existsSync(join(site, "index.html")), `build the page first: ${site} is missing`);
  server = await serve(site);
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 10_000 });
  assert.deepEqual(errors, []);
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

const cost = () => page.locator("[data-testid=cost]").textContent();
const violations = () => page.locator("[data-testid=violations] li").allTextContents();

test("the dropdown offers enabled models only, grouped by content type", async () => {
  const groups = await page.locator("#model optgroup").evaluateAll((els) =>
    els.map((g) => ({
      label: g.getAttribute("label"),
      ids: [...g.querySelectorAll("option")].map((o) => o.value),
    })),
  );
  assert.deepEqual(groups, [
    { label: "Image", ids: modelsByContentType("image").map((m) => m.id) },
    { label: "Video", ids: modelsByContentType("video").map((m) => m.id) },
    { label: "Audio", ids: modelsByContentType("audio").map((m) => m.id) },
  ]);
  const offered = groups.flatMap((g) => g.ids);
  assert.ok(!offered.includes("kling_v2_master_text_to_video"), "the disabled model is offered");
  assert.equal(offered.length, MODEL_IDS.filter((id) => MODELS[id].enabled).length);
});

test("choose a model, change params, see the exact cost", async () => {
  await page.selectOption("[data-testid=model]", "seedance_v1_lite");
  // The form is rendered from the registry: one field per param, defaults preselected.
  const names = await page.locator("#params [name]").evaluateAll((els) => els.map((e) => e.getAttribute("name")));
  assert.deepEqual(names, MODELS.seedance_v1_lite.params.map((p) => p.name));
  assert.equal(await page.inputValue("[data-testid=param-resolution]"), "720p");

  await page.fill("[data-testid=param-prompt]", "Ocean waves crashing");
  assert.equal(await cost(), `${calculateCost("seedance_v1_lite", { prompt: "Ocean waves crashing" })} credits`);
  assert.equal(await cost(), "12 credits");

  await page.selectOption("[data-testid=param-resolution]", "1080p");
  assert.equal(await cost(), "20 credits");
  await page.selectOption("[data-testid=param-duration]", "10");
  assert.equal(await cost(), `${calculateCost("seedance_v1_lite", { prompt: "x", resolution: "1080p", duration: 10 })} credits`);
  assert.equal(await cost(), "40 credits");
  assert.deepEqual(await violations(), []);

  // A fractional cost, rounded half-even to two places, exactly as the server charges.
  await page.selectOption("[data-testid=model]", "fal_flux_dev_image_to_image");
  await page.fill("[data-testid=param-image_url]", "https://example.com/cat.png");
  await page.fill("[data-testid=param-prompt]", "Watercolor");
  assert.equal(await cost(), "2.5 credits");
  await page.fill("[data-testid=param-num_images]", "3");
  await page.fill("[data-testid=param-num_inference_steps]", "50");
  assert.equal(await cost(), "13.39 credits");
});

test("see validation errors with the registry's messages", async () => {
  await page.selectOption("[data-testid=model]", "seedance_v1_lite");
  await page.fill("[data-testid=param-prompt]", "Ocean waves");
  await page.fill("[data-testid=param-seed]", "-5");
  assert.deepEqual(await violations(), ["seed must be at least -1 (got -5)"]);
  assert.equal(await page.locator("[data-testid=error-seed]").textContent(), "seed must be at least -1 (got -5)");
  assert.equal(await cost(), "—");

  await page.fill("[data-testid=param-prompt]", "");
  assert.deepEqual(await violations(), ["prompt is required", "seed must be at least -1 (got -5)"]);

  await page.fill("[data-testid=param-prompt]", "Ocean waves");
  await page.fill("[data-testid=param-seed]", "42");
  assert.deepEqual(await violations(), []);
  assert.equal(await cost(), "12 credits");

  // Leave an error on screen for the screenshot.
  await page.selectOption("[data-testid=param-resolution]", "1080p");
  await page.fill("[data-testid=param-seed]", "-7");
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "page.png"), fullPage: true });
});

test("a one_of param: a preset, or a custom size with its own fields", async () => {
  await page.selectOption("[data-testid=model]", "fal_flux_schnell");
  await page.fill("[data-testid=param-prompt]", "A red apple");
  assert.equal(await page.inputValue("[data-testid=param-image_size]"), "value:landscape_4_3");
  assert.deepEqual(await violations(), []);
  assert.equal(await cost(), "1 credits");

  // The custom option shows its fields; their violations name the field and show at the param.
  const width = "[data-testid='param-image_size.custom.width']";
  const height = "[data-testid='param-image_size.custom.height']";
  assert.equal(await page.isVisible(width), false);
  await page.selectOption("[data-testid=param-image_size]", "option:custom");
  assert.equal(await page.isVisible(width), true);
  await page.fill(width, "1024");
  assert.deepEqual(await violations(), ["image_size.height is required"]);
  assert.equal(await page.locator("[data-testid=error-image_size]").textContent(), "image_size.height is required");
  await page.fill(height, "32");
  assert.deepEqual(await violations(), ["image_size.height must be at least 64 (got 32)"]);
  await page.fill(height, "768");
  assert.deepEqual(await violations(), []);
  await page.fill("[data-testid=param-num_images]", "2");
  assert.equal(await cost(), `${calculateCost("fal_flux_schnell", { prompt: "x", image_size: { width: 1024, height: 768 }, num_images: 2 })} credits`);
  assert.equal(await cost(), "2 credits");

  // Back to a preset.
  await page.selectOption("[data-testid=param-image_size]", "value:square");
  assert.equal(await page.isVisible(width), false);
  assert.deepEqual(await violations(), []);
});
