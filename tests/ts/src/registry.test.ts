// The generated bindings as a frontend uses them: lookups, the model picker, defaults,
// validation messages and costs, and what must never be in them.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import {
  CONTENT_TYPES,
  InvalidParamsError,
  MODEL_IDS,
  MODELS,
  PARAMS_SCHEMAS,
  PROVIDERS,
  calculateCost,
  findModel,
  getModel,
  isModelId,
  modelsByContentType,
  paramsSchema,
  validateParams,
} from "../../../generated/ts/index.js";
import { readJson, repoRoot } from "./support.js";

const DISABLED = "kling_v2_master_text_to_video";

test("lookups by id", () => {
  const m = getModel("seedance_v1_lite");
  assert.equal(m.id, "seedance_v1_lite");
  assert.equal(m.displayName, "Seedance V1 Lite");
  assert.equal(m.provider, "kie_ai");
  assert.equal(m.contentType, "video");
  assert.equal(m.mode, "webhook");
  assert.equal(m.expectedLatencyMs, 4 * 60 * 1000);
  assert.equal(m.cost.base, "8");
  assert.deepEqual(
    m.params.map((p) => p.name),
    ["prompt", "aspect_ratio", "resolution", "duration", "camera_fixed", "seed"],
  );
  assert.equal(findModel("seedance_v1_lite"), MODELS.seedance_v1_lite);
  assert.equal(findModel("no_such_model"), undefined);
  assert.equal(findModel("constructor"), undefined, "no prototype keys");
  assert.equal(isModelId("gpt_image_1"), true);
  assert.equal(isModelId("toString"), false);
  assert.equal(PROVIDERS[m.provider].displayName, "KIE AI");
});

test("every model of the IR is in MODELS, with its metadata", () => {
  const ir = readJson("generated", "registry.json") as {
    models: Record<string, { display_name: string; provider: string; content_type: string; enabled: boolean; params: unknown[]; cost: { base: string } }>;
  };
  assert.deepEqual([...MODEL_IDS].sort(), Object.keys(ir.models).sort());
  for (const id of MODEL_IDS) {
    const want = ir.models[id];
    assert.ok(want !== undefined);
    const got = MODELS[id];
    assert.equal(got.displayName, want.display_name);
    assert.equal(got.provider, want.provider);
    assert.equal(got.contentType, want.content_type);
    assert.equal(got.enabled, want.enabled);
    assert.equal(got.cost.base, want.cost.base);
    assert.equal(got.params.length, want.params.length);
  }
});

test("the picker offers enabled models only, grouped by content type", () => {
  const offered = CONTENT_TYPES.flatMap((t) => modelsByContentType(t).map((m) => m.id));
  const enabled = MODEL_IDS.filter((id) => MODELS[id].enabled);
  assert.deepEqual([...offered].sort(), [...enabled].sort());
  for (const t of CONTENT_TYPES) {
    for (const m of modelsByContentType(t)) {
      assert.equal(m.contentType, t);
      assert.equal(m.enabled, true);
    }
  }
  assert.deepEqual(
    modelsByContentType("audio").map((m) => m.id),
    ["suno_v4_5"],
  );
  assert.deepEqual(modelsByContentType("text"), []);
});

test("a disabled (rolled back) model is hidden from the picker but still known", () => {
  assert.equal(MODELS[DISABLED].enabled, false);
  assert.equal(getModel(DISABLED).contentType, "video");
  const videos = modelsByContentType("video").map((m) => m.id);
  assert.ok(!videos.includes(DISABLED), `${DISABLED} is offered`);
  assert.ok(videos.includes("kling_v2_pro"));
});

test("defaults are filled in", () => {
  const result = validateParams("seedance_v1_lite", { prompt: "Ocean waves" });
  assert.equal(result.ok, true);
  assert.ok(result.ok);
  assert.deepEqual(result.params, {
    prompt: "Ocean waves",
    aspect_ratio: "16:9",
    resolution: "720p",
    duration: 5,
    camera_fixed: false,
  });
  // `seed` has no default: absent, not null.
  assert.equal("seed" in result.params, false);
  // null means absent, and takes the default.
  const withNull = validateParams("seedance_v1_lite", { prompt: "x", resolution: null });
  assert.ok(withNull.ok);
  assert.equal(withNull.params.resolution, "720p");
});

test("validation reports every violation, in order, with the server's messages", () => {
  const result = validateParams("seedance_v1_lite", {
    resolution: "4k",
    duration: 7,
    camera_fixed: "yes",
    seed: -2,
    zoom: 2,
    aardvark: true,
  });
  assert.equal(result.ok, false);
  assert.deepEqual(result.violations, [
    { param: "prompt", code: "required", message: "prompt is required" },
    { param: "resolution", code: "enum", message: "resolution must be one of 480p, 720p, 1080p (got 4k)" },
    { param: "duration", code: "enum", message: "duration must be one of 5, 10 (got 7)" },
    { param: "camera_fixed", code: "type", message: "camera_fixed must be true or false" },
    { param: "seed", code: "min", message: "seed must be at least -1 (got -2)" },
    { param: "aardvark", code: "unknown_param", message: "unknown param aardvark" },
    { param: "zoom", code: "unknown_param", message: "unknown param zoom" },
  ]);
  assert.deepEqual(validateParams("seedance_v1_lite", "prompt").violations, [
    { param: "", code: "type", message: "params must be an object" },
  ]);
  assert.deepEqual(validateParams("seedance_v1_lite", [1]).violations, [
    { param: "", code: "type", message: "params must be an object" },
  ]);
});

test("string lengths count code points; decimals are exact", () => {
  const long = "🙂".repeat(2000);
  assert.equal(validateParams("seedance_v1_lite", { prompt: long }).ok, true, "2000 emoji are 2000 characters");
  assert.deepEqual(validateParams("seedance_v1_lite", { prompt: long + "é" }).violations, [
    { param: "prompt", code: "max_length", message: "prompt must be at most 2000 characters (got 2001)" },
  ]);
  const fal = (strength: unknown) => validateParams("fal_flux_dev_image_to_image", { image_url: "https://example.com/a.png", prompt: "p", strength }).violations;
  assert.deepEqual(fal("0.30"), []);
  assert.deepEqual(fal(1), []);
  assert.deepEqual(fal("0.305"), [{ param: "strength", code: "step", message: "strength must be a multiple of 0.01 (got 0.305)" }]);
  assert.deepEqual(fal("1.000000000000000000000000001"), [{ param: "strength", code: "max", message: "strength must be at most 1 (got 1.000000000000000000000000001)" }]);
  assert.deepEqual(fal("0.010"), []);
  assert.deepEqual(fal("-0.00"), [{ param: "strength", code: "min", message: "strength must be at least 0.01 (got 0)" }]);
  assert.deepEqual(fal(0.5), [{ param: "strength", code: "type", message: "strength must be a decimal number as a string" }]);
});

test("costs are exact decimal strings", () => {
  assert.equal(calculateCost("seedance_v1_lite", { prompt: "x" }), "12");
  assert.equal(calculateCost("seedance_v1_lite", { prompt: "x", resolution: "1080p", duration: 10 }), "40");
  assert.equal(calculateCost("seedance_v1_lite", { prompt: "x", resolution: "480p" }), "8");
  assert.equal(calculateCost("fal_flux_dev_image_to_image", { image_url: "https://e.com/a.png", prompt: "p" }), "2.5");
  // 2.5 × 3 × 50 / 28 = 13.392857… → 13.39 (half even, 2 places)
  assert.equal(calculateCost("fal_flux_dev_image_to_image", { image_url: "https://e.com/a.png", prompt: "p", num_images: 3, num_inference_steps: 50 }), "13.39");
  assert.equal(calculateCost("gpt_image_1", { prompt: "p", quality: "low" }), "1");
  assert.throws(
    () => calculateCost("seedance_v1_lite", { prompt: "" , duration: 10, seed: 3_000_000_000 }),
    (e: unknown) => e instanceof InvalidParamsError && e.violations.length === 1 && e.message === "seed must be at most 2147483647 (got 3000000000)",
  );
});

test("a JSON Schema per model's params", () => {
  for (const id of MODEL_IDS) {
    const schema = paramsSchema(id);
    assert.equal(schema, PARAMS_SCHEMAS[id]);
    assert.equal(schema["type"], "object");
    assert.equal(schema["additionalProperties"], false);
    const properties = schema["properties"];
    assert.ok(typeof properties === "object" && properties !== null && !Array.isArray(properties));
    assert.deepEqual(Object.keys(properties), MODELS[id].params.map((p) => p.name));
    assert.deepEqual(schema["required"], MODELS[id].params.filter((p) => p.required).map((p) => p.name));
  }
  assert.deepEqual(PARAMS_SCHEMAS.seedance_v1_lite.properties.resolution, {
    type: "string",
    enum: ["480p", "720p", "1080p"],
    description: "Output resolution.",
    default: "720p",
  });
});

test("nothing secret and no `any` in the bindings", () => {
  const dir = join(repoRoot(), "generated", "ts");
  const ir = readJson("generated", "registry.json") as {
    providers: Record<string, { base_url: string; key_scopes: Record<string, string> }>;
    models: Record<string, { key_scope: string; secret_name: string }>;
  };
  const forbidden = new Set<string>();
  for (const p of Object.values(ir.providers)) {
    forbidden.add(p.base_url);
    for (const secret of Object.values(p.key_scopes)) {
      forbidden.add(secret);
    }
  }
  for (const m of Object.values(ir.models)) {
    forbidden.add(m.secret_name);
  }
  // Scope names are plain words ("video") that may rightly appear: no field may carry them.
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  assert.ok(files.includes("index.ts"));
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    assert.ok(text.startsWith("// Generated by `cargo run -p codegen`"), `${f} has the generated header`);
    for (const word of forbidden) {
      assert.ok(!text.includes(word), `${f} contains ${word}`);
    }
    // The client's `baseUrl` option (in client.ts and index.ts's example) is the caller's own
    // API server, given at run time; no provider's URL is in the bindings (checked above).
    const fields = f === "client.ts" || f === "index.ts" ? text.replaceAll("baseUrl", "") : text;
    assert.ok(!/scope|secret|base_?url|api_?key/i.test(fields), `${f} names a key scope, secret or URL field`);
    assert.ok(!/:\s*any\b|<any>|\bas any\b|any\[\]/.test(text), `${f} uses any`);
  }
});
