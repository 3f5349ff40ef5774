// The example page (examples/web, built by run.sh into target/ts/web) in headless Chromium,
// with no API configured: pick a model, change params, see the exact cost and the registry's
// validation messages. page.test.ts runs it against the server.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import type { Browser, Page } from "playwright-core";

import { MODEL_IDS, MODELS, calculateCost, modelsByContentType } from "../../../generated/ts/index.js";
import { artifacts, launch, openTab, serveSite, type Site } from "./web.js";

let site: Site;
let browser: Browser;
let page: Page;

before(async () => {
  site = await serveSite();
  browser = await launch();
  const tab = await openTab(browser);
  page = tab.page;
  // No API configured: the page offers the settings, calls nothing, and logs no error.
  await page.goto(`${site.origin}/`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 10_000 });
  assert.deepEqual(tab.errors, []);
  assert.equal(await page.locator("[data-testid=connection]").textContent(), "Not connected: set the API URL and the token.");
});

after(async () => {
  await browser?.close();
  await site?.close();
});

const cost = () => page.locator("[data-testid=cost]").textContent();
const violations = () => page.locator("[data-testid=violations] li").allTextContents();

test("the dropdown offers enabled models grouped by content type, and the rolled-back ones apart", async () => {
  const groups = await page.locator("#model optgroup").evaluateAll((els) =>
    els.map((g) => ({
      label: g.getAttribute("label"),
      ids: [...g.querySelectorAll("option")].map((o) => o.value),
    })),
  );
  const disabled = MODEL_IDS.filter((id) => !MODELS[id].enabled);
  assert.deepEqual(disabled, ["kling_v2_master_text_to_video"]);
  assert.deepEqual(groups, [
    { label: "Image", ids: modelsByContentType("image").map((m) => m.id) },
    { label: "Video", ids: modelsByContentType("video").map((m) => m.id) },
    { label: "Audio", ids: modelsByContentType("audio").map((m) => m.id) },
    { label: "Rolled back (not run)", ids: disabled },
  ]);
  const offered = groups.slice(0, 3).flatMap((g) => g.ids);
  assert.ok(!offered.includes("kling_v2_master_text_to_video"), "the disabled model is offered with the enabled ones");
  assert.equal(offered.length, MODEL_IDS.filter((id) => MODELS[id].enabled).length);
  // Chosen anyway, it says that the server refuses it.
  await page.selectOption("[data-testid=model]", "kling_v2_master_text_to_video");
  assert.match((await page.locator("[data-testid=model-note]").textContent()) ?? "", /rolled back.*409 model_disabled/);
  assert.equal(await page.isVisible("[data-testid=model-note]"), true);
  await page.selectOption("[data-testid=model]", "seedance_v1_lite");
  assert.equal(await page.isVisible("[data-testid=model-note]"), false);
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
