// What went wrong, for people: one message per kind of error the API and the client give, and
// one per kind of generation failure.
import { ApiError, WaitTimeoutError, type Generation, type GenerationFailure } from "../../../generated/ts/index.js";

import { seconds } from "./dom.js";
import { unreachable, type Settings } from "./settings.js";

/** A problem to show: `kind` is stable (for styles and tests), the rest is for people. */
export interface Problem {
  /** `invalid_params`, `insufficient_credits`, `model_disabled`, `failed`, `timeout`, ... */
  readonly kind: string;
  readonly title: string;
  readonly detail: string;
}

/** What each failure kind of a generation means (`error.kind`). */
const FAILURES: { readonly [kind: string]: string } = {
  provider: "the provider reported an error",
  timeout: "it did not finish within the model's timeout",
  cancelled: "it was cancelled",
  transport: "the provider could not be reached",
  malformed_answer: "the provider's answer could not be read",
  missing_key: "no API key is configured for this model's provider",
  off_host: "the provider pointed at a host it may not use",
  interrupted: "the server stopped before the provider accepted it",
};

/** The problem of a failed generation: its error kind and message. */
export function failureOf(error: GenerationFailure | undefined): Problem {
  if (error === undefined) {
    return { kind: "failed", title: "Failed", detail: "The server gave no reason." };
  }
  const meaning = FAILURES[error.kind] ?? "the run failed";
  const code = error.code === undefined ? "" : ` (provider code ${error.code})`;
  return { kind: "failed", title: `Failed: ${meaning} (${error.kind})`, detail: `${error.message}${code}` };
}

/**
 * The problem of an error thrown by a request: the API's answers by their kind, the page
 * giving up waiting, or the API out of reach. `cost` is the previewed cost, when known.
 */
export function problemOf(error: unknown, settings: Settings, cost: string | undefined): Problem {
  if (error instanceof WaitTimeoutError) {
    return timedOut(error.generation);
  }
  if (!(error instanceof ApiError)) {
    return { kind: "unreachable", title: "No answer from the API", detail: unreachable(error, settings) };
  }
  const http = `HTTP ${error.status} ${error.code}`;
  switch (error.kind) {
    case "invalid_params": {
      const n = error.violations.length;
      return {
        kind: error.kind,
        title: `The server refused the params (${http})`,
        detail: `${n} ${n === 1 ? "problem" : "problems"}, shown at ${n === 1 ? "its field" : "their fields"}: ${error.violations.map((v) => v.message).join("; ")}.`,
      };
    }
    case "insufficient_credits":
      return {
        kind: error.kind,
        title: `Not enough credits (${http})`,
        detail: `${error.message}${cost === undefined ? "" : ` (this run costs ${cost} credits)`}. Nothing was charged.`,
      };
    case "model_disabled":
      return { kind: error.kind, title: `This model is disabled (${http})`, detail: `${error.message}. Pick another model.` };
    case "unauthorized":
      return { kind: error.kind, title: `The token was refused (${http})`, detail: "Check the token in the settings above." };
    case "unavailable":
      return {
        kind: error.kind,
        title: `The provider is unavailable (${http})`,
        detail: `${error.message}${error.retryAfter === undefined ? "" : ` Try again in ${error.retryAfter} s.`}`,
      };
    case "invalid_request":
    case "not_found":
    case "conflict":
    case "server":
    case "invalid_response":
      return { kind: error.kind, title: `The request failed (${http})`, detail: error.message };
  }
}

/** The page stopped waiting: the generation is still running past the model's timeout. */
export function timedOut(generation: Generation): Problem {
  const waited = Date.now() - Date.parse(generation.created_at);
  return {
    kind: "timeout",
    title: `Timed out: still ${generation.status} after ${seconds(waited)}`,
    detail: "The page stopped waiting past the model's timeout; the generation stays in your history, where its final state shows once the server records it.",
  };
}
