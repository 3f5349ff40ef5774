// Cost and validation parity with the Rust runtime: the shared vectors in tests/parity/,
// computed by runtime::cost and runtime::params, must come out identical here.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MODEL_IDS, calculateCost, isModelId, validateParams, type ModelId, type ParamsFor, type Violation } from "../../../generated/ts/index.js";
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

function byModel<T extends { model: string }>(vectors: readonly T[]): Map<ModelId, T[]> {
  const out = new Map<ModelId, T[]>();
  for (const v of vectors) {
    assert.ok(isModelId(v.model), `vector names an unknown model ${v.model}`);
    const list = out.get(v.model) ?? [];
    list.push(v);
    out.set(v.model, list);
  }
  return out;
}

const costVectors = readJson("tests", "parity", "cost_vectors.json") as CostVector[];
const validationVectors = readJson("tests", "parity", "validation_vectors.json") as ValidationVector[];

test("the cost vectors cover at least 10,000 cases and every model", () => {
  assert.ok(costVectors.length >= 10_000, `only ${costVectors.length} cost vectors`);
  assert.equal(byModel(costVectors).size, MODEL_IDS.length, "every model of the registry");
});

for (const [model, vectors] of byModel(costVectors)) {
  test(`cost parity: ${model} (${vectors.length} vectors)`, () => {
    let mismatches = 0;
    const first: string[] = [];
    for (const v of vectors) {
      const got = calculateCost(model, v.params);
      if (got !== v.cost) {
        mismatches += 1;
        if (first.length < 5) {
          first.push(`${JSON.stringify(v.params)}: TypeScript ${got}, Rust ${v.cost}`);
        }
      }
    }
    assert.equal(mismatches, 0, `${mismatches} of ${vectors.length} costs differ:\n${first.join("\n")}`);
  });
}

for (const [model, vectors] of byModel(validationVectors)) {
  test(`validation parity: ${model} (${vectors.length} vectors)`, () => {
    for (const v of vectors) {
      const result = validateParams(model, v.params);
      assert.equal(result.ok, false, `${JSON.stringify(v.params)} should be invalid`);
      assert.deepEqual(
        result.violations.map((x) => ({ param: x.param, code: x.code, message: x.message })),
        v.violations,
        `violations of ${JSON.stringify(v.params)}`,
      );
    }
  });
}

test("valid cost vectors also validate", () => {
  for (const v of costVectors) {
    assert.ok(isModelId(v.model));
    assert.equal(validateParams(v.model, v.params).ok, true, JSON.stringify(v));
  }
});
