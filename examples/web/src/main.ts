// A model picker with a live cost preview, built only from the generated registry: the
// dropdown, the form, the defaults, the messages and the price all come from generated/ts.
import {
  CONTENT_TYPES,
  PROVIDERS,
  calculateCost,
  findModel,
  modelsByContentType,
  validateParams,
  type ContentType,
  type ModelInfo,
  type ParamDef,
  type Violation,
} from "../../../generated/ts/index.js";

const CONTENT_LABELS: Record<ContentType, string> = { image: "Image", video: "Video", audio: "Audio", text: "Text" };
const MODES: Record<ModelInfo["mode"], string> = { sync: "immediate", poll: "queued (polled)", webhook: "queued (webhook)" };

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    el.setAttribute(name, value);
  }
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) {
    throw new Error(`#${id} is missing`);
  }
  return el;
}

const modelSelect = byId("model", HTMLSelectElement);
const facts = byId("facts", HTMLElement);
const form = byId("params", HTMLFormElement);
const costOutput = byId("cost", HTMLOutputElement);
const violationList = byId("violations", HTMLUListElement);

function duration(ms: number): string {
  return ms >= 60_000 ? `about ${Math.round(ms / 60_000)} min` : `about ${Math.round(ms / 1000)} s`;
}

/** The dropdown: enabled models only, grouped by content type. */
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
}

function showFacts(model: ModelInfo): void {
  const rows: [string, string][] = [
    ["Provider", PROVIDERS[model.provider].displayName],
    ["Delivery", MODES[model.mode]],
    ["Expected time", duration(model.expectedLatencyMs)],
    ["Base cost", `${model.cost.base} credits`],
  ];
  facts.replaceChildren(...rows.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)]));
}

function hint(def: ParamDef): string {
  const parts: string[] = [];
  if (def.description !== undefined) {
    parts.push(def.description);
  }
  switch (def.type) {
    case "string":
      if (def.maxLength !== undefined) parts.push(`Up to ${def.maxLength} characters.`);
      break;
    case "integer":
    case "decimal":
      if (def.min !== undefined && def.max !== undefined) parts.push(`${def.min} to ${def.max}.`);
      break;
    case "array":
      parts.push("One per line.");
      break;
    default:
      break;
  }
  return parts.join(" ");
}

/** One input for a param, from its definition. */
function control(def: ParamDef): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  const attrs = { id: `param-${def.name}`, name: def.name, "data-testid": `param-${def.name}` };
  const options = (values: readonly (string | number)[], selected: string | number | undefined, blank: boolean) => {
    const select = element("select", attrs);
    if (blank) select.append(element("option", { value: "" }, "—"));
    for (const v of values) {
      const option = element("option", { value: String(v) }, String(v));
      option.selected = v === selected;
      select.append(option);
    }
    return select;
  };
  switch (def.type) {
    case "enum":
      return options(def.values, def.default, def.default === undefined && !def.required);
    case "integer":
      if (def.values !== undefined) return options(def.values, def.default, def.default === undefined && !def.required);
      return Object.assign(element("input", { ...attrs, type: "number", step: String(def.step ?? 1), inputmode: "numeric" }), {
        value: def.default === undefined ? "" : String(def.default),
      });
    case "decimal":
      return Object.assign(element("input", { ...attrs, type: "text", inputmode: "decimal" }), { value: def.default ?? "" });
    case "boolean": {
      const box = element("input", { ...attrs, type: "checkbox" });
      box.checked = def.default ?? false;
      return box;
    }
    case "image_url":
      return Object.assign(element("input", { ...attrs, type: "url", placeholder: "https://" }), { value: def.default ?? "" });
    case "array":
      return Object.assign(element("textarea", { ...attrs, rows: "3" }), { value: (def.default ?? []).join("\n") });
    case "string":
      if (def.maxLength === undefined || def.maxLength > 200) {
        return Object.assign(element("textarea", { ...attrs, rows: "3" }), { value: def.default ?? "" });
      }
      return Object.assign(element("input", { ...attrs, type: "text" }), { value: def.default ?? "" });
  }
}

function renderForm(model: ModelInfo): void {
  form.replaceChildren(
    ...model.params.map((def) => {
      const wrap = element("div", { class: def.type === "boolean" ? "field check" : "field" });
      const label = element("label", { for: `param-${def.name}`, class: "label" }, def.name.replaceAll("_", " "));
      if (def.required) label.append(element("span", { class: "required", title: "required" }, " *"));
      wrap.append(label, control(def));
      const help = hint(def);
      if (help !== "") wrap.append(element("small", { class: "hint" }, help));
      wrap.append(element("small", { class: "error", id: `error-${def.name}`, "data-testid": `error-${def.name}` }));
      return wrap;
    }),
  );
}

/** The form's values as params: empty fields are left out, numbers parsed where they are numbers. */
function readParams(model: ModelInfo): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const def of model.params) {
    const field = form.elements.namedItem(def.name);
    if (field instanceof HTMLInputElement && field.type === "checkbox") {
      params[def.name] = field.checked;
      continue;
    }
    if (!(field instanceof HTMLInputElement || field instanceof HTMLSelectElement || field instanceof HTMLTextAreaElement)) {
      continue;
    }
    const raw = field.value.trim();
    if (raw === "") continue;
    if (def.type === "integer") {
      // Whatever was typed goes to validation: "7.5" or "abc" get the registry's message.
      params[def.name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    } else if (def.type === "array") {
      params[def.name] = raw.split("\n").map((line) => line.trim()).filter((line) => line !== "");
    } else {
      params[def.name] = def.type === "string" ? field.value : raw;
    }
  }
  return params;
}

function showViolations(violations: readonly Violation[]): void {
  for (const el of form.querySelectorAll<HTMLElement>(".error")) el.textContent = "";
  for (const el of form.querySelectorAll<HTMLElement>(".field")) el.classList.remove("invalid");
  violationList.replaceChildren(
    ...violations.map((v) => element("li", { "data-code": v.code, "data-param": v.param }, v.message)),
  );
  for (const v of violations) {
    const name = v.param.replace(/\[\d+\]$/, "");
    const slot = document.getElementById(`error-${name}`);
    if (slot !== null) {
      slot.textContent = v.message;
      slot.parentElement?.classList.add("invalid");
    }
  }
}

function update(): void {
  const model = findModel(modelSelect.value);
  if (model === undefined) return;
  const checked = validateParams(model.id, readParams(model));
  showViolations(checked.violations);
  if (checked.ok) {
    costOutput.textContent = `${calculateCost(model.id, checked.params)} credits`;
    costOutput.classList.remove("unknown");
  } else {
    costOutput.textContent = "—";
    costOutput.classList.add("unknown");
  }
}

function selectModel(): void {
  const model = findModel(modelSelect.value);
  if (model === undefined) return;
  showFacts(model);
  renderForm(model);
  update();
}

fillModels();
modelSelect.addEventListener("change", selectModel);
form.addEventListener("input", update);
form.addEventListener("change", update);
form.addEventListener("submit", (event) => event.preventDefault());
selectModel();
document.body.dataset["ready"] = "true";
