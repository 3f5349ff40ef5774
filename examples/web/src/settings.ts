// Where the API is and which token to send: from the page's address (`?api=...&token=...`),
// else from the settings form, which keeps them in localStorage. Both pages share them, and
// the links between the pages carry the address's query along.
import { ApiError, createClient, type Account, type Client } from "../../../generated/ts/index.js";

import { element } from "./dom.js";

/** The API to call and the token to call it with. */
export interface Settings {
  /** The server's base URL (`http://127.0.0.1:8080`); empty when not set. */
  readonly api: string;
  /** The bearer token; empty when not set. */
  readonly token: string;
  /** Where they came from: the address's query, the saved settings, or nowhere. */
  readonly from: "address" | "saved" | "none";
}

const API_KEY = "registry-example.api";
const TOKEN_KEY = "registry-example.token";

/** localStorage, or `undefined` where the browser refuses it (storage disabled). */
function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** The settings: the address's `api` and `token` win over the saved ones. */
export function loadSettings(): Settings {
  const query = new URLSearchParams(window.location.search);
  const saved = storage();
  const fromQuery = { api: query.get("api") ?? "", token: query.get("token") ?? "" };
  const api = fromQuery.api !== "" ? fromQuery.api : (saved?.getItem(API_KEY) ?? "");
  const token = fromQuery.token !== "" ? fromQuery.token : (saved?.getItem(TOKEN_KEY) ?? "");
  const from = fromQuery.api !== "" || fromQuery.token !== "" ? "address" : api !== "" || token !== "" ? "saved" : "none";
  return { api: api.trim().replace(/\/+$/, ""), token: token.trim(), from };
}

/** A client of the configured API, or `undefined` until both the URL and the token are set. */
export function clientFor(settings: Settings): Client | undefined {
  if (settings.api === "" || settings.token === "") return undefined;
  return createClient({ baseUrl: settings.api, token: settings.token });
}

/** Keep the links between the pages on the same `?api=&token=` as this one. */
export function carryQuery(nav: HTMLElement): void {
  const query = new URLSearchParams(window.location.search);
  const kept = new URLSearchParams();
  for (const name of ["api", "token"]) {
    const value = query.get(name);
    if (value !== null) kept.set(name, value);
  }
  if ([...kept.keys()].length === 0) return;
  for (const link of nav.querySelectorAll<HTMLAnchorElement>("a[href]")) {
    const href = link.getAttribute("href") ?? "";
    link.setAttribute("href", `${href.split("?")[0] ?? href}?${kept.toString()}`);
  }
}

/**
 * The settings panel in `container`: the URL and the token (saved to localStorage on Save,
 * and the page reloaded without `api`/`token` in its address so that the saved ones apply),
 * and `status`, a line that says whether the API answers.
 */
export function settingsPanel(container: HTMLElement, settings: Settings): { status: HTMLElement } {
  const details = element("details", { class: "panel settings", "data-testid": "settings" });
  details.open = settings.api === "" || settings.token === "";
  const where = settings.from === "address" ? "from the page's address" : settings.from === "saved" ? "saved in this browser" : "not set";
  const summary = element("summary", {}, `API: ${settings.api === "" ? "not set" : settings.api} (${where})`);
  const form = element("form", { class: "settings-form" });
  const api = element("input", { type: "url", id: "settings-api", name: "api", placeholder: "http://127.0.0.1:8080", "data-testid": "settings-api" });
  api.value = settings.api;
  const token = element("input", { type: "password", id: "settings-token", name: "token", autocomplete: "off", placeholder: "dev_...", "data-testid": "settings-token" });
  token.value = settings.token;
  const save = element("button", { type: "submit", "data-testid": "settings-save" }, "Save");
  const forget = element("button", { type: "button", class: "secondary" }, "Forget");
  const row = (label: string, input: HTMLInputElement) => {
    const wrap = element("label", { class: "field", for: input.id });
    wrap.append(element("span", { class: "label" }, label), input);
    return wrap;
  };
  const help = element(
    "p",
    { class: "hint" },
    "Start the server with --mock --cors-origin set to this page's origin; it prints its URL and a dev token. The address may also carry them: ?api=URL&token=TOKEN.",
  );
  const buttons = element("div", { class: "buttons" });
  buttons.append(save, forget);
  form.append(row("API URL", api), row("Token", token), buttons, help);
  const reload = () => {
    const url = new URL(window.location.href);
    url.searchParams.delete("api");
    url.searchParams.delete("token");
    window.location.assign(url.toString());
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storage()?.setItem(API_KEY, api.value.trim());
    storage()?.setItem(TOKEN_KEY, token.value.trim());
    reload();
  });
  forget.addEventListener("click", () => {
    storage()?.removeItem(API_KEY);
    storage()?.removeItem(TOKEN_KEY);
    reload();
  });
  const status = element("p", { class: "connection", "data-testid": "connection", "aria-live": "polite" });
  status.textContent = settings.api === "" || settings.token === "" ? "Not connected: set the API URL and the token." : "Connecting…";
  details.append(summary, form);
  container.replaceChildren(details, status);
  return { status };
}

/** Say in `status` who the token is and what credits it has, or why the API did not answer. */
export function showAccount(status: HTMLElement, result: { account: Account } | { error: unknown }, settings: Settings): void {
  status.classList.toggle("bad", "error" in result);
  if ("account" in result) {
    const { account } = result;
    status.textContent = `Connected to ${settings.api} · balance ${account.balance} credits, ${account.available} available`;
    status.dataset["balance"] = account.balance;
    return;
  }
  status.textContent = unreachable(result.error, settings);
}

/** Why a request did not get an answer from the API, for people. */
export function unreachable(error: unknown, settings: Settings): string {
  if (error instanceof ApiError) {
    if (error.kind === "unauthorized") return `The API refused the token (HTTP ${error.status}): check the settings.`;
    return `The API answered HTTP ${error.status} (${error.code}): ${error.message}`;
  }
  if (error instanceof TypeError) {
    return `Cannot reach the API at ${settings.api}: is the server running, with --cors-origin ${window.location.origin}?`;
  }
  return `The API did not answer: ${error instanceof Error ? error.message : String(error)}`;
}
