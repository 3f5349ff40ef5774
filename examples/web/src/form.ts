// The params form of one model, built from its definitions in the generated registry: one
// input per param (an object's fields, a one_of's options), defaults preselected, read back as
// params (numbers parsed where they are numbers, empty fields left out) and violations shown
// at their fields.
import type { FieldDef, ModelInfo, ObjectParam, OneOfParam, OptionDef, ParamDef, Violation } from "../../../generated/ts/index.js";

import { element } from "./dom.js";

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

/** A param that is one input: a scalar or a list. */
type ScalarDef = Exclude<ParamDef, ObjectParam | OneOfParam>;

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** One input for a scalar or a list, named `name` (`image_size.custom.width` inside a one_of). */
function control(def: ScalarDef, name: string): Control {
  const attrs = { id: `param-${name}`, name, "data-testid": `param-${name}` };
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

/** A field of an object with its default replaced by `value`, when there is one. */
function withDefault(field: FieldDef, value: unknown): FieldDef {
  switch (field.type) {
    case "string":
    case "enum":
    case "image_url":
    case "decimal":
      return typeof value === "string" ? { ...field, default: value } : field;
    case "integer":
      return typeof value === "number" ? { ...field, default: value } : field;
    case "boolean":
      return typeof value === "boolean" ? { ...field, default: value } : field;
  }
}

/** One input per field of an object, named `name.field`, prefilled from `value`. */
function objectControl(def: ObjectParam, name: string, value: unknown): HTMLFieldSetElement {
  const given = isRecord(value) ? value : {};
  const set = element("fieldset", { class: "object", id: `param-${name}`, "data-testid": `param-${name}` });
  for (const field of def.fields) {
    const fieldName = `${name}.${field.name}`;
    const wrap = element("div", { class: field.type === "boolean" ? "field check" : "field" });
    const label = element("label", { for: `param-${fieldName}`, class: "label" }, field.name.replaceAll("_", " "));
    if (field.required) label.append(element("span", { class: "required", title: "required" }, " *"));
    wrap.append(label, control(withDefault(field, given[field.name]), fieldName));
    set.append(wrap);
  }
  return set;
}

/** Whether `value` has a JSON type the option takes (how a one_of chooses). */
function takes(option: OptionDef, value: unknown): boolean {
  switch (option.type) {
    case "object":
      return isRecord(value);
    case "integer":
      return typeof value === "number";
    case "decimal":
      return typeof value === "string" || typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "string":
    case "enum":
    case "image_url":
      return typeof value === "string";
  }
}

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A one_of: a choice of every preset value (its enum options) and every other option, and
 * below it the input of the chosen option (an object's fields, or one input).
 */
function oneOfControl(def: OneOfParam, name: string): HTMLElement {
  const wrap = element("div", { class: "one-of" });
  const choice = element("select", { id: `param-${name}`, name, "data-testid": `param-${name}` });
  if (def.default === undefined && !def.required) choice.append(element("option", { value: "" }, "—"));
  const parts = element("div", { class: "one-of-option" });
  for (const option of def.options) {
    if (option.type === "enum") {
      for (const v of option.values) {
        const entry = element("option", { value: `value:${v}` }, v);
        entry.selected = def.default === v;
        choice.append(entry);
      }
      continue;
    }
    const entry = element("option", { value: `option:${option.name}` }, option.name.replaceAll("_", " "));
    entry.selected = def.default !== undefined && takes(option, def.default);
    choice.append(entry);
    const optionName = `${name}.${option.name}`;
    const input = option.type === "object" ? objectControl(option, optionName, entry.selected ? def.default : undefined) : control(option, optionName);
    const box = element("div", { class: "option", "data-option": option.name });
    box.append(input);
    parts.append(box);
  }
  const show = () => {
    for (const box of parts.querySelectorAll<HTMLElement>(".option")) {
      box.hidden = choice.value !== `option:${box.dataset["option"] ?? ""}`;
    }
  };
  choice.addEventListener("change", show);
  show();
  wrap.append(choice, parts);
  return wrap;
}

export function renderForm(form: HTMLFormElement, model: ModelInfo): void {
  form.replaceChildren(
    ...model.params.map((def) => {
      const wrap = element("div", { class: def.type === "boolean" ? "field check" : "field" });
      const label = element("label", { for: `param-${def.name}`, class: "label" }, def.name.replaceAll("_", " "));
      if (def.required) label.append(element("span", { class: "required", title: "required" }, " *"));
      const input = def.type === "object" ? objectControl(def, def.name, def.default) : def.type === "one_of" ? oneOfControl(def, def.name) : control(def, def.name);
      wrap.append(label, input);
      const help = hint(def);
      if (help !== "") wrap.append(element("small", { class: "hint" }, help));
      wrap.append(element("small", { class: "error", id: `error-${def.name}`, "data-testid": `error-${def.name}` }));
      return wrap;
    }),
  );
}

/** The value of one input, or `undefined` when it is empty: numbers parsed where they are numbers. */
function readControl(form: HTMLFormElement, def: ScalarDef, name: string): unknown {
  const field = form.elements.namedItem(name);
  if (field instanceof HTMLInputElement && field.type === "checkbox") {
    return field.checked;
  }
  if (!(field instanceof HTMLInputElement || field instanceof HTMLSelectElement || field instanceof HTMLTextAreaElement)) {
    return undefined;
  }
  const raw = field.value.trim();
  if (raw === "") return undefined;
  if (def.type === "integer") {
    // Whatever was typed goes to validation: "7.5" or "abc" get the registry's message.
    return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  if (def.type === "array") {
    return raw.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  }
  return def.type === "string" ? field.value : raw;
}

/** An object from its fields' inputs; empty fields are left out. */
function readObject(form: HTMLFormElement, def: ObjectParam, name: string): { [field: string]: unknown } {
  const out: { [field: string]: unknown } = {};
  for (const field of def.fields) {
    const value = readControl(form, field, `${name}.${field.name}`);
    if (value !== undefined) out[field.name] = value;
  }
  return out;
}

/** A one_of's value: the chosen preset value, or the chosen option's input. */
function readOneOf(form: HTMLFormElement, def: OneOfParam, name: string): unknown {
  const choice = form.elements.namedItem(name);
  if (!(choice instanceof HTMLSelectElement) || choice.value === "") return undefined;
  if (choice.value.startsWith("value:")) return choice.value.slice("value:".length);
  const option = def.options.find((o: OptionDef) => choice.value === `option:${o.name}`);
  if (option === undefined) return undefined;
  const optionName = `${name}.${option.name}`;
  return option.type === "object" ? readObject(form, option, optionName) : readControl(form, option, optionName);
}

/** The form's values as params: empty fields are left out, numbers parsed where they are numbers. */
export function readParams(form: HTMLFormElement, model: ModelInfo): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const def of model.params) {
    const value = def.type === "object" ? readObject(form, def, def.name) : def.type === "one_of" ? readOneOf(form, def, def.name) : readControl(form, def, def.name);
    if (value !== undefined) params[def.name] = value;
  }
  return params;
}

/**
 * Show `violations` in `list` and each at its param's field (`image_urls[2]` and
 * `image_size.width` at their param); `source` says who found them (`page` or `server`).
 */
export function showViolations(form: HTMLFormElement, list: HTMLUListElement, violations: readonly Violation[], source: "page" | "server"): void {
  for (const el of form.querySelectorAll<HTMLElement>(".error")) el.textContent = "";
  for (const el of form.querySelectorAll<HTMLElement>(".field")) el.classList.remove("invalid");
  list.dataset["source"] = source;
  list.replaceChildren(...violations.map((v) => element("li", { "data-code": v.code, "data-param": v.param }, v.message)));
  for (const v of violations) {
    const name = v.param.split(/[.[]/)[0] ?? v.param;
    const slot = document.getElementById(`error-${name}`);
    if (slot !== null) {
      slot.textContent = v.message;
      slot.parentElement?.classList.add("invalid");
    }
  }
}
