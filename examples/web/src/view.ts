// One generation on screen: its status and progress, the time it took against the model's
// expected latency, the previewed and the charged cost, why it failed, and its outputs.
import { calculateCost, isFinished, validateParams, type ContentType, type Generation, type GenerationOutput, type ModelInfo } from "../../../generated/ts/index.js";

import { between, byId, element, roughly, seconds } from "./dom.js";
import { failureOf, type Problem } from "./problems.js";

const panel = byId("run", HTMLElement);
const title = byId("run-title", HTMLElement);
const status = byId("run-status", HTMLElement);
const steps = byId("run-steps", HTMLOListElement);
const bar = byId("run-bar", HTMLElement);
const elapsedText = byId("run-elapsed", HTMLElement);
const previewText = byId("run-preview", HTMLElement);
const chargedText = byId("run-charged", HTMLElement);
const problemBox = byId("problem", HTMLElement);
const outputs = byId("outputs", HTMLElement);

/** What the panel shows: a model, maybe its generation, and the previewed cost. */
export interface Shown {
  readonly model: ModelInfo;
  /** Absent until the server has answered the create. */
  readonly generation?: Generation;
  /** The previewed cost (`calculateCost`), when the params were valid. */
  readonly preview: string | undefined;
  /** When the page asked for it (`Date.now()`), to count the time before the server's answer. */
  readonly startedAt?: number;
  /** Set when the page stopped following it: the create was refused, or the wait gave up. */
  readonly stoppedAt?: number;
}

/** Whether the panel's clock should run: the generation is not finished and still followed. */
export function running(shown: Shown): boolean {
  return shown.stoppedAt === undefined && (shown.generation === undefined || !isFinished(shown.generation));
}

/** The formula's cost of a recorded generation's params (defaults filled in, so valid). */
export function previewOf(generation: Generation): string | undefined {
  const checked = validateParams(generation.model, generation.params);
  return checked.ok ? calculateCost(generation.model, checked.params) : undefined;
}

/** Whether decimals `a` and `b` are the same number ("2.50" and "2.5"). */
function sameDecimal(a: string, b: string): boolean {
  const norm = (d: string) => (d.includes(".") ? d.replace(/0+$/, "").replace(/\.$/, "") : d).replace(/^(-?)0+(?=\d)/, "$1");
  return norm(a) === norm(b);
}

/** The time a generation has taken: the server's times once finished, else the page's clock. */
function elapsedOf(shown: Shown): number {
  const g = shown.generation;
  if (g !== undefined && isFinished(g)) {
    return between(g.created_at, g.completed_at ?? g.updated_at) ?? 0;
  }
  const now = shown.stoppedAt ?? Date.now();
  if (shown.startedAt !== undefined) return now - shown.startedAt;
  return g === undefined ? 0 : Math.max(0, now - Date.parse(g.created_at));
}

/** Redraw the elapsed time and the bar (called on a timer while running). */
export function showElapsed(shown: Shown): void {
  const ms = elapsedOf(shown);
  const expected = shown.model.expectedLatencyMs;
  // The bar spans twice the expected latency: past it, the latency alert's threshold.
  bar.style.width = `${Math.min(100, (ms / (2 * expected)) * 100)}%`;
  const pace = ms <= expected ? "ok" : ms <= 2 * expected ? "slow" : "over";
  bar.className = `fill ${pace}`;
  const note = pace === "over" ? " (over twice the expected time: the latency alert's threshold)" : pace === "slow" ? " (slower than expected)" : "";
  elapsedText.textContent = `${seconds(ms)} of ${roughly(expected)} expected${note}`;
  elapsedText.dataset["pace"] = pace;
}

/** Show `shown` in the run panel. */
export function show(shown: Shown): void {
  const { model, generation: g, preview } = shown;
  panel.hidden = false;
  panel.dataset["id"] = g?.id ?? "";
  title.textContent = model.displayName;
  // `not-started`: the create was refused or not answered, so there is no generation.
  const state = g?.status ?? (shown.stoppedAt === undefined ? "sending" : "not-started");
  status.textContent = state.replace("-", " ");
  status.className = `status status-${state}`;
  panel.dataset["status"] = state;
  const order = ["sending", "pending", "processing", "completed", "failed"];
  const at = order.indexOf(state);
  for (const li of steps.querySelectorAll<HTMLLIElement>("li")) {
    const step = li.dataset["step"] ?? "";
    const final = step === "completed";
    if (final) li.textContent = state === "failed" ? "failed" : "completed";
    li.className = final ? (state === "completed" ? "done" : state === "failed" ? "failed" : "") : order.indexOf(step) < at ? "done" : step === state ? "current" : "";
  }
  showElapsed(shown);
  previewText.textContent = preview === undefined ? "— (the params are not valid)" : `${preview} credits`;
  showCharged(g, preview);
  if (g?.status === "failed") {
    showProblem(failureOf(g.error));
  } else {
    showProblem(undefined);
  }
  showOutputs(g);
}

function showCharged(g: Generation | undefined, preview: string | undefined): void {
  chargedText.className = "";
  if (g === undefined) {
    chargedText.textContent = "—";
    return;
  }
  if (!isFinished(g) || g.charged === undefined) {
    chargedText.textContent = g.cost === undefined ? "— (running)" : `— (${g.cost} credits held while it runs)`;
    return;
  }
  if (g.status === "failed") {
    chargedText.textContent = `${g.charged} credits (a failed generation is not charged)`;
    return;
  }
  const refunded = g.refunded !== undefined && !sameDecimal(g.refunded, "0") ? `, ${g.refunded} refunded: fewer outputs came back than were paid for` : "";
  const match = preview === undefined ? "" : sameDecimal(g.charged, preview) ? " (= the preview)" : ` (the preview said ${preview})`;
  chargedText.textContent = `${g.charged} credits${match}${refunded}`;
  chargedText.className = preview === undefined || sameDecimal(g.charged, preview) ? "match" : "mismatch";
  chargedText.dataset["charged"] = g.charged;
}

/** Show a problem in the run panel, or clear it. */
export function showProblem(problem: Problem | undefined, errorKind?: string): void {
  problemBox.hidden = problem === undefined;
  if (problem === undefined) {
    problemBox.replaceChildren();
    delete problemBox.dataset["kind"];
    return;
  }
  panel.hidden = false;
  problemBox.dataset["kind"] = problem.kind;
  if (errorKind !== undefined) problemBox.dataset["errorKind"] = errorKind;
  problemBox.replaceChildren(element("strong", { "data-testid": "problem-title" }, problem.title), element("p", { "data-testid": "problem-detail" }, problem.detail));
}

const MIME: Record<ContentType, string> = { image: "image/png", video: "video/mp4", audio: "audio/mpeg", text: "text/plain" };

/** A URL the page may put in `src` or `href`: http(s) or data: only. */
function safeUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "data:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** One output: an image, a video or an audio player, or the text. */
function outputElement(g: Generation, out: GenerationOutput, i: number): HTMLElement {
  const figure = element("figure", { class: "output", "data-kind": out.kind });
  const src = out.kind === "base64" ? `data:${MIME[g.content_type]};base64,${out.value}` : safeUrl(out.value);
  if (out.kind === "text" || g.content_type === "text" || src === undefined) {
    figure.append(element("pre", {}, out.value));
    return figure;
  }
  const label = `output ${i + 1} of ${g.model}`;
  const media =
    g.content_type === "image"
      ? element("img", { src, alt: label, "data-testid": "output" })
      : element(g.content_type, { src, controls: "", preload: "metadata", "aria-label": label, "data-testid": "output" });
  const caption = element("figcaption");
  const note = element("span", { class: "broken-note", "data-testid": "output-note" });
  // A file the browser cannot decode (the mock serves a line of text under an image, video
  // or audio content type) shows a note instead of a broken element.
  media.addEventListener(
    "error",
    () => {
      figure.classList.add("broken");
      figure.dataset["state"] = "undecodable";
      note.textContent = `This file could not be shown as ${g.content_type === "image" ? "an image" : g.content_type}: the browser cannot decode it.`;
    },
    { once: true },
  );
  media.addEventListener(g.content_type === "image" ? "load" : "loadedmetadata", () => (figure.dataset["state"] = "loaded"), { once: true });
  if (!src.startsWith("data:")) caption.append(element("a", { href: src, target: "_blank", rel: "noopener" }, "open"), " ");
  caption.append(note);
  figure.append(media, caption);
  return figure;
}

function showOutputs(g: Generation | undefined): void {
  const list = g?.outputs ?? [];
  // Keep the elements of the outputs already shown (a redraw must not reload them).
  if (outputs.dataset["for"] === (g?.id ?? "") && outputs.childElementCount === list.length) return;
  outputs.dataset["for"] = g?.id ?? "";
  outputs.replaceChildren(...(g === undefined ? [] : list.map((out, i) => outputElement(g, out, i))));
}
