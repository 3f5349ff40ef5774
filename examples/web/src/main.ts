// The generation page: a model picker with a live cost preview, built only from the generated
// registry (the dropdown, the form, the defaults, the messages and the price all come from
// generated/ts), and the runs, through the generated API client: Generate, the progress, the
// outputs, the charged cost beside the preview, every error's message, and the history.
import {
  CONTENT_TYPES,
  MODEL_IDS,
  PROVIDERS,
  calculateCost,
  findModel,
  getModel,
  isApiError,
  isFinished,
  modelsByContentType,
  validateParams,
  type ContentType,
  type Generation,
  type ModelId,
  type ModelInfo,
  type ParamsFor,
} from "../../../generated/ts/index.js";

import { between, byId, element, roughly, seconds, when } from "./dom.js";
import { readParams, renderForm, showViolations } from "./form.js";
import { problemOf } from "./problems.js";
import { carryQuery, clientFor, loadSettings, settingsPanel, showAccount, unreachable } from "./settings.js";
import { previewOf, running, show, showElapsed, showProblem, type Shown } from "./view.js";

const CONTENT_LABELS: Record<ContentType, string> = { image: "Image", video: "Video", audio: "Audio", text: "Text" };
const MODES: Record<ModelInfo["mode"], string> = { sync: "immediate", poll: "queued (polled)", webhook: "queued (webhook)" };

const settings = loadSettings();
const client = clientFor(settings);
const { status: connection } = settingsPanel(byId("settings", HTMLElement), settings);
carryQuery(byId("nav", HTMLElement));

const modelSelect = byId("model", HTMLSelectElement);
const modelNote = byId("model-note", HTMLElement);
const facts = byId("facts", HTMLElement);
const form = byId("params", HTMLFormElement);
const costOutput = byId("cost", HTMLOutputElement);
const violationList = byId("violations", HTMLUListElement);
const generateButton = byId("generate", HTMLButtonElement);
const historyList = byId("history", HTMLOListElement);
const historyNote = byId("history-note", HTMLElement);
const historyMore = byId("history-more", HTMLButtonElement);

/**
 * The dropdown: enabled models grouped by content type, then the rolled-back ones in a group
 * of their own, greyed: the server refuses them, and trying one shows its answer.
 */
function fillModels(): void {
  for (const type of CONTENT_TYPES) {
    const models = modelsByContentType(type);
    if (models.length === 0) {
      continue;
    }
    const group = element("optgroup", { label: CONTENT_LABELS[type] });
    for (const m of models) {
      group.append(element("option", { value: m.id }, m.displayName));
    }
    modelSelect.append(group);
  }
  const disabled = MODEL_IDS.map((id): ModelInfo => getModel(id)).filter((m) => !m.enabled);
  if (disabled.length > 0) {
    const group = element("optgroup", { label: "Rolled back (not run)", class: "rolled-back" });
    for (const m of disabled) {
      group.append(element("option", { value: m.id, class: "rolled-back" }, `${m.displayName} (rolled back)`));
    }
    modelSelect.append(group);
  }
}

function showFacts(model: ModelInfo): void {
  const rows: [string, string][] = [
    ["Provider", PROVIDERS[model.provider].displayName],
    ["Delivery", MODES[model.mode]],
    ["Expected time", roughly(model.expectedLatencyMs)],
    ["Base cost", `${model.cost.base} credits`],
  ];
  facts.replaceChildren(...rows.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)]));
  modelNote.hidden = model.enabled;
  modelNote.textContent = model.enabled
    ? ""
    : "This model was rolled back: it stays in the registry so its history stays readable, and the server refuses to run it (409 model_disabled). Generate sends it anyway, to show the server's answer.";
}

/**
 * The form's params checked with the registry's rules: the params to send (typed when they
 * pass, with defaults filled in) and their cost when they pass.
 */
function check(model: ModelInfo): { params: ParamsFor<ModelId>; preview: string | undefined } {
  const values = readParams(form, model);
  const checked = validateParams(model.id, values);
  showViolations(form, violationList, checked.violations, "page");
  if (checked.ok) {
    return { params: checked.params, preview: calculateCost(model.id, checked.params) };
  }
  // Params that break the rules are sent as they are, not blocked here: the server checks them
  // with the same rules and its 422 names each problem, which this page shows at its field.
  return { params: values as unknown as ParamsFor<ModelId>, preview: undefined };
}

function update(): void {
  const model = findModel(modelSelect.value);
  if (model === undefined) return;
  const { preview } = check(model);
  costOutput.textContent = preview === undefined ? "—" : `${preview} credits`;
  costOutput.classList.toggle("unknown", preview === undefined);
}

function selectModel(): void {
  const model = findModel(modelSelect.value);
  if (model === undefined) return;
  showFacts(model);
  renderForm(form, model);
  update();
}

// ---------------------------------------------------------------------------------------------
// Runs.

/** What the run panel shows now; live updates of a run only redraw while it is shown. */
let shown: Shown | undefined;
let clock: number | undefined;

function display(next: Shown): void {
  shown = next;
  show(next);
  const ticking = running(next);
  if (ticking && clock === undefined) {
    clock = window.setInterval(() => {
      if (shown !== undefined) showElapsed(shown);
    }, 100);
  } else if (!ticking && clock !== undefined) {
    window.clearInterval(clock);
    clock = undefined;
  }
}

/** A fresh `Idempotency-Key`: one per click, so that a retried request never runs twice. */
function idempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // crypto.randomUUID exists in secure contexts only (https, localhost); the page may be
  // served over plain http from another host.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function generate(): Promise<void> {
  const model = findModel(modelSelect.value);
  if (model === undefined) return;
  const { params, preview } = check(model);
  const startedAt = Date.now();
  display({ model, preview, startedAt });
  byId("run", HTMLElement).scrollIntoView({ block: "nearest" });
  if (client === undefined) {
    showProblem({ kind: "not_connected", title: "Not connected", detail: "Set the API URL and the token in the settings above." });
    return;
  }
  generateButton.disabled = true;
  let last: Generation | undefined;
  // Redraw while this run is the one shown (a click in the history shows another).
  const mine = () => shown === undefined || shown.startedAt === startedAt;
  const onUpdate = (generation: Generation) => {
    last = generation;
    if (mine()) display({ model, preview, startedAt, generation });
  };
  try {
    const created = await client.createGeneration(model.id, params, { idempotencyKey: idempotencyKey() });
    onUpdate(created);
    const finished = isFinished(created)
      ? created
      : await client.waitForGeneration(created.id, {
          onUpdate,
          interval: 250,
          backoff: 1.25,
          maxInterval: 2000,
          // The server fails a run past the model's timeout; wait a little longer for it.
          timeout: model.timeoutMs + 30_000,
        });
    onUpdate(finished);
  } catch (error) {
    if (mine()) {
      display({ model, preview, startedAt, stoppedAt: Date.now(), ...(last === undefined ? {} : { generation: last }) });
      const problem = problemOf(error, settings, preview);
      if (isApiError(error, "invalid_params")) {
        showViolations(form, violationList, error.violations, "server");
      }
      showProblem(problem);
    }
  } finally {
    generateButton.disabled = false;
    await Promise.all([refreshHistory(), refreshAccount()]);
  }
}

// ---------------------------------------------------------------------------------------------
// The history: the caller's generations, newest first.

let history: Generation[] = [];
let nextCursor: string | undefined;

function historyItem(g: Generation): HTMLLIElement {
  const model = findModel(g.model);
  const took = between(g.created_at, g.completed_at);
  const cost = g.charged !== undefined ? `${g.charged} credits charged` : g.cost !== undefined ? `${g.cost} credits held` : "";
  const li = element("li", { "data-id": g.id, "data-status": g.status, "data-model": g.model });
  const button = element("button", { type: "button", class: "history-item" });
  button.append(
    element("span", { class: `status status-${g.status}` }, g.status),
    element("span", { class: "history-model" }, model?.displayName ?? g.model),
    element("span", { class: "hint" }, [when(g.created_at), took === undefined ? "" : seconds(took), cost].filter((s) => s !== "").join(" · ")),
  );
  button.addEventListener("click", () => {
    if (model === undefined) return;
    for (const other of historyList.querySelectorAll("li.selected")) other.classList.remove("selected");
    li.classList.add("selected");
    display({ model, generation: g, preview: previewOf(g) });
  });
  li.append(button);
  return li;
}

function renderHistory(selected: string | undefined): void {
  historyList.replaceChildren(...history.map(historyItem));
  if (selected !== undefined) historyList.querySelector(`li[data-id="${CSS.escape(selected)}"]`)?.classList.add("selected");
  historyMore.hidden = nextCursor === undefined;
  historyNote.textContent = history.length === 0 ? "None yet." : `${history.length} shown, newest first${nextCursor === undefined ? "" : "; older ones below"}.`;
}

async function refreshHistory(): Promise<void> {
  if (client === undefined) {
    historyNote.textContent = "Not connected.";
    return;
  }
  try {
    const page = await client.listGenerations({ limit: 20 });
    history = [...page.data];
    nextCursor = page.next_cursor;
    renderHistory(shown?.generation?.id);
  } catch (error) {
    historyNote.textContent = unreachable(error, settings);
  }
}

async function moreHistory(): Promise<void> {
  if (client === undefined || nextCursor === undefined) return;
  try {
    const page = await client.listGenerations({ limit: 20, cursor: nextCursor });
    history = [...history, ...page.data];
    nextCursor = page.next_cursor;
    renderHistory(shown?.generation?.id);
  } catch (error) {
    historyNote.textContent = unreachable(error, settings);
  }
}

async function refreshAccount(): Promise<void> {
  if (client === undefined) return;
  try {
    showAccount(connection, { account: await client.getAccount() }, settings);
  } catch (error) {
    showAccount(connection, { error }, settings);
  }
}

fillModels();
modelSelect.addEventListener("change", selectModel);
form.addEventListener("input", update);
form.addEventListener("change", update);
form.addEventListener("submit", (event) => event.preventDefault());
generateButton.addEventListener("click", () => void generate());
byId("history-refresh", HTMLButtonElement).addEventListener("click", () => void refreshHistory());
historyMore.addEventListener("click", () => void moreHistory());
selectModel();
void Promise.all([refreshAccount(), refreshHistory()]).finally(() => {
  document.body.dataset["ready"] = "true";
});
