// Success rate and latency per model, computed in the page from the generations the API lists
// (the caller's, newest first): what the plan's monitoring measures, over what was listed.
import { findModel, type Generation } from "../../../generated/ts/index.js";

import { between } from "./dom.js";

/** The thresholds of models/monitoring.yaml that these numbers can be held against. */
export const THRESHOLDS = {
  /** `low_success_rate` (warning, all models): success under 90%. */
  successBelow: 0.9,
  /** `high_error_rate` (critical, all models): more than 20% fail. */
  errorRateAbove: 0.2,
  /** `model_failing` (warning, per model): more than 50% fail. */
  modelFailingAbove: 0.5,
  /** `high_latency` (warning, per model): average latency over 2x the expected latency. */
  latencyFactor: 2,
} as const;

export type Level = "ok" | "warning" | "critical";

/** One model's numbers (or everything's, with `model` = `all`). */
export interface Stats {
  readonly model: string;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  /** Pending or processing. */
  readonly running: number;
  /** Completed among the finished ones (0 to 1); `undefined` when none finished. */
  readonly successRate: number | undefined;
  /** Mean time from creation to completion of the completed ones, in ms. */
  readonly meanLatencyMs: number | undefined;
  /** The slowest completed one, in ms. */
  readonly maxLatencyMs: number | undefined;
  /** The registry's expected latency (one model only). */
  readonly expectedLatencyMs: number | undefined;
  /** The newest failure. */
  readonly lastError: { readonly kind: string; readonly message: string; readonly at: string } | undefined;
  /** How bad it looks, and why. */
  readonly level: Level;
  readonly reasons: readonly string[];
}

export function percent(rate: number): string {
  const p = rate * 100;
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

function statsOf(model: string, generations: readonly Generation[], overall: boolean): Stats {
  let completed = 0;
  let failed = 0;
  const latencies: number[] = [];
  let lastError: Stats["lastError"];
  for (const g of generations) {
    if (g.status === "completed") {
      completed += 1;
      const ms = between(g.created_at, g.completed_at);
      if (ms !== undefined) latencies.push(ms);
    } else if (g.status === "failed") {
      failed += 1;
      // Newest first: the first failure seen is the newest.
      if (lastError === undefined && g.error !== undefined) lastError = { kind: g.error.kind, message: g.error.message, at: g.completed_at ?? g.updated_at };
    }
  }
  const finished = completed + failed;
  const successRate = finished === 0 ? undefined : completed / finished;
  const meanLatencyMs = latencies.length === 0 ? undefined : latencies.reduce((a, b) => a + b, 0) / latencies.length;
  const maxLatencyMs = latencies.length === 0 ? undefined : Math.max(...latencies);
  const expectedLatencyMs = overall ? undefined : findModel(model)?.expectedLatencyMs;
  const reasons: string[] = [];
  let level: Level = "ok";
  const raise = (to: Level, reason: string) => {
    reasons.push(reason);
    if (to === "critical" || level === "ok") level = to;
  };
  // The rules of the plan that these numbers can show: over all models, high_error_rate and
  // all_generations_failing (critical) and low_success_rate (warning); per model,
  // model_failing and high_latency (warnings).
  if (successRate !== undefined) {
    const errorRate = 1 - successRate;
    if (overall) {
      if (completed === 0) raise("critical", "every finished generation failed");
      else if (errorRate > THRESHOLDS.errorRateAbove) raise("critical", `${percent(errorRate)} failed (above ${percent(THRESHOLDS.errorRateAbove)})`);
      if (successRate < THRESHOLDS.successBelow) raise("warning", `success ${percent(successRate)} (under ${percent(THRESHOLDS.successBelow)})`);
    } else if (errorRate > THRESHOLDS.modelFailingAbove) {
      raise("warning", `${percent(errorRate)} failed (above ${percent(THRESHOLDS.modelFailingAbove)})`);
    }
  }
  if (meanLatencyMs !== undefined && expectedLatencyMs !== undefined && meanLatencyMs > THRESHOLDS.latencyFactor * expectedLatencyMs) {
    raise("warning", `latency ${(meanLatencyMs / expectedLatencyMs).toFixed(1)}× the expected (above ${THRESHOLDS.latencyFactor}×)`);
  }
  return {
    model,
    total: generations.length,
    completed,
    failed,
    running: generations.length - finished,
    successRate,
    meanLatencyMs,
    maxLatencyMs,
    expectedLatencyMs,
    lastError,
    level,
    reasons,
  };
}

/** Every model's numbers (the worst first, then by name) and everything's together. */
export function summarize(generations: readonly Generation[]): { readonly all: Stats; readonly models: readonly Stats[] } {
  const byModel = new Map<string, Generation[]>();
  for (const g of generations) {
    const list = byModel.get(g.model) ?? [];
    list.push(g);
    byModel.set(g.model, list);
  }
  const rank: Record<Level, number> = { critical: 0, warning: 1, ok: 2 };
  const models = [...byModel].map(([model, list]) => statsOf(model, list, false));
  models.sort((a, b) => rank[a.level] - rank[b.level] || a.model.localeCompare(b.model));
  return { all: statsOf("all", generations, true), models };
}
