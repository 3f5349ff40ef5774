// The bindings of the fixture specs (tests/golden/ts): an object param priced by its fields and
// a one_of of a preset, an integer and an object. Validation and cost agree with the Rust
// runtime on the fixture vectors (tests/parity/fixture_*), and the object and one_of cases
// read as a frontend meets them.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  calculateCost,
  isModelId,
  paramsSchema,
  validateParams,
  type AcmeCollageParams,
  type ModelId,
  type ParamsFor,
  type Violation,
} from "../../golden/ts/index.js";
import { readJson } from "./support.js";

interface CostVector {
  model: string;
  /** Params exactly as a caller gives them (the JSON is read untyped). */
  params: ParamsFor<ModelId>;
  cost: string;
}

interface ValidationVector {
  model: string;
  params: Record<string, unknown>;
  violations: Violation[];
}

const costVectors = readJson("tests", "parity", "fixture_cost_vectors.json") as CostVector[];
const validationVectors = readJson("tests", "parity", "fixture_validation_vectors.json") as ValidationVector[];

test("fixture cost parity with Rust", () => {
  assert.ok(costVectors.length >= 2000, `only ${costVectors.length} fixture cost vectors`);
  const differ: string[] = [];
  for (const v of costVectors) {
    assert.ok(isModelId(v.model), `vector names an unknown model ${v.model}`);
    const got = calculateCost(v.model, v.params);
    if (got !== v.cost) {
      differ.push(`${v.model} ${JSON.stringify(v.params)}: TypeScript ${got}, Rust ${v.cost}`);
    }
  }
  assert.deepEqual(differ.slice(0, 5), []);
});

test("fixture validation parity with Rust: codes, messages and order", () => {
  assert.ok(validationVectors.length >= 50);
  for (const v of validationVectors) {
    assert.ok(isModelId(v.model));
    const result = validateParams(v.model, v.params);
    assert.equal(result.ok, false, `${JSON.stringify(v.params)} should be invalid`);
    assert.deepEqual(
      result.violations.map((x) => ({ param: x.param, code: x.code, message: x.message })),
      v.violations,
      `violations of ${JSON.stringify(v.params)}`,
    );
  }
});

const images = ["https://a.test/1.png", "https://a.test/2.png"];

test("an object param: defaults filled in, fields priced", () => {
  const checked = validateParams("acme_collage", { image_urls: images, canvas: { width: 2048, background: "transparent" } });
  assert.equal(checked.ok, true);
  if (checked.ok) {
    assert.deepEqual(checked.params.canvas, { width: 2048, height: 1024, background: "transparent" });
  }
  // 0.5 x 2 images x 2048/1024 x 1.5.
  assert.equal(calculateCost("acme_collage", { image_urls: images, canvas: { width: 2048, background: "transparent" } }), "3");
  // The default canvas: 1024 wide, white.
  assert.equal(calculateCost("acme_collage", { image_urls: images }), "1");
  const wrong = validateParams("acme_collage", { image_urls: images, canvas: { width: 1000, depth: 1 } });
  assert.deepEqual(wrong.violations, [
    { param: "canvas.depth", code: "unknown_field", message: "canvas has no field depth (its fields are width, height, background, crop)" },
  ]);
  const step = validateParams("acme_collage", { image_urls: images, canvas: { width: 1000 } });
  assert.deepEqual(step.violations, [{ param: "canvas.width", code: "step", message: "canvas.width must be a multiple of 256 (got 1000)" }]);
});

test("a one_of param: the value's JSON type chooses the option", () => {
  const frames: AcmeCollageParams["frame"][] = ["thin", 8, { width: 4 }];
  for (const frame of frames) {
    assert.equal(validateParams("acme_collage", { image_urls: images, frame }).ok, true, JSON.stringify(frame));
  }
  const custom = validateParams("acme_collage", { image_urls: images, frame: { width: 4 } });
  assert.ok(custom.ok && JSON.stringify(custom.params.frame) === JSON.stringify({ width: 4, color: "#000000" }));
  const none = validateParams("acme_collage", { image_urls: images, frame: true });
  assert.deepEqual(none.violations, [
    {
      param: "frame",
      code: "one_of",
      message: "frame must be one of none, thin, bold, or an integer, or an object {width, color} (got a boolean)",
    },
  ]);
  const schema = paramsSchema("acme_collage");
  assert.ok(JSON.stringify(schema).includes('"oneOf"'));
});
