// The generated API client against a scripted fetch: the answers the mock server cannot give
// (503, a body that breaks the API, a non-JSON error), the URL and headers it builds, the token
// getter, and the retries, timeout and abort of waitForGeneration.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, WaitTimeoutError, createClient, type Fetch, type FetchInit, type Generation } from "../../../generated/ts/index.js";

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: { readonly [name: string]: string };
}

/** A fetch that answers from `script` in turn (the last answer repeats) and records requests. */
function scripted(...script: Answer[]): { fetch: Fetch; requests: { url: string; init: FetchInit }[] } {
  const requests: { url: string; init: FetchInit }[] = [];
  const fetch: Fetch = (url, init) => {
    requests.push({ url, init });
    const answer = script[Math.min(requests.length - 1, script.length - 1)];
    assert.ok(answer !== undefined, "no scripted answer");
    const headers = new Map(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const text = answer.text ?? (answer.body === undefined ? "" : JSON.stringify(answer.body));
    return Promise.resolve({ status: answer.status, headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null }, text: () => Promise.resolve(text) });
  };
  return { fetch, requests };
}

function generation(status: Generation["status"], extra: { [key: string]: unknown } = {}): { [key: string]: unknown } {
  return {
    id: "g1",
    model: "nano_banana",
    content_type: "image",
    status,
    params: { prompt: "x" },
    created_at: "2026-12-01T00:00:00.000Z",
    updated_at: `2026-12-01T00:00:0${["pending", "processing", "completed", "failed"].indexOf(status)}.000Z`,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

test("requests: base URL, encoded path, query in table order without absent values, headers, body", async () => {
  const { fetch, requests } = scripted({ status: 200, body: { data: [] } }, { status: 200, body: generation("pending") }, { status: 201, body: generation("pending") });
  let calls = 0;
  const api = createClient({
    baseUrl: "https://api.example///",
    token: async () => `t${++calls}`,
    fetch,
  });
  await api.listGenerations({ cursor: "c/1", model: "nano_banana", limit: 5 });
  await api.getGeneration("a/b c");
  await api.createGeneration("nano_banana", { prompt: "x" }, { idempotencyKey: "k1", wait: 15 });
  assert.deepEqual(
    requests.map((r) => `${r.init.method} ${r.url}`),
    [
      "GET https://api.example/v1/generations?model=nano_banana&limit=5&cursor=c%2F1",
      "GET https://api.example/v1/generations/a%2Fb%20c",
      "POST https://api.example/v1/generations",
    ],
  );
  assert.deepEqual(requests[0]?.init.headers, { Accept: "application/json", Authorization: "Bearer t1" });
  assert.equal(requests[0]?.init.body, undefined);
  assert.deepEqual(requests[2]?.init.headers, {
    Accept: "application/json",
    Authorization: "Bearer t3",
    "Idempotency-Key": "k1",
    Prefer: "wait=15",
    "Content-Type": "application/json",
  });
  assert.equal(requests[2]?.init.body, JSON.stringify({ model: "nano_banana", params: { prompt: "x" } }));
  assert.throws(() => api.createGeneration("nano_banana", { prompt: "x" }, { wait: 0 }), RangeError);
  assert.throws(() => api.createGeneration("nano_banana", { prompt: "x" }, { wait: 1.5 }), RangeError);
});

test("errors: 503 is unavailable with Retry-After, a non-JSON 502 is server, codes decide the kind", async () => {
  const body = (code: string, status: number): Answer => ({ status, body: { error: { code, message: `said ${code}` } } });
  const { fetch } = scripted(
    { ...body("provider_unavailable", 503), headers: { "Retry-After": "7" } },
    { status: 502, text: "<html>bad gateway</html>" },
    body("insufficient_credits", 402),
    body("idempotency_key_in_flight", 409),
    body("unknown_model", 422),
    body("timeout", 408),
  );
  const api = createClient({ baseUrl: "https://api.example", token: "t", fetch });
  const kinds: [string, number, string, number | undefined][] = [];
  for (let i = 0; i < 6; i++) {
    const e = await rejection(api.getAccount());
    assert.ok(e instanceof ApiError);
    kinds.push([e.kind, e.status, e.code, e.retryAfter]);
  }
  assert.deepEqual(kinds, [
    ["unavailable", 503, "provider_unavailable", 7],
    ["server", 502, "http_502", undefined],
    ["insufficient_credits", 402, "insufficient_credits", undefined],
    ["conflict", 409, "idempotency_key_in_flight", undefined],
    ["invalid_request", 422, "unknown_model", undefined],
    ["server", 408, "timeout", undefined],
  ]);
});

test("answers are checked against the API: a missing field, a wrong type, an unknown status", async () => {
  const { fetch } = scripted(
    { status: 200, body: { ...generation("completed"), status: "done" } },
    { status: 200, body: { id: "g1" } },
    { status: 202, body: generation("pending") },
    { status: 200, text: "not json" },
    { status: 200, body: [{ id: "m", display_name: "M", provider: { id: "p", display_name: "P" }, content_type: "image", mode: "sync", params: [{ name: "n", required: true, type: "integer", min: 1, values: [1, "2"] }], cost: { base: "1", multipliers: [{ kind: "ratio", param: "n", per: "5" }], round: "ceil", scale: 0 }, expected_latency_ms: 1, timeout_ms: 2, cancellable: false }] },
  );
  const api = createClient({ baseUrl: "https://api.example", token: "t", fetch });
  const messages: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = await rejection(api.getGeneration("g1"));
    assert.ok(e instanceof ApiError && e.kind === "invalid_response", String(e));
    messages.push(e.message);
  }
  const models = await rejection(api.listModels());
  assert.ok(models instanceof ApiError);
  messages.push(models.message);
  assert.deepEqual(messages, [
    "GET /v1/generations/{id}: the answer does not match GenerationView: .status must be one of pending, processing, completed, failed",
    "GET /v1/generations/{id}: the answer does not match GenerationView: .model is required",
    "GET /v1/generations/{id}: unexpected status 202",
    "GET /v1/generations/{id}: the answer does not match GenerationView: the body must be an object (GenerationView)",
    "GET /v1/models: the answer does not match ModelView[]: [0].cost.multipliers[0].per must be an integer",
  ]);
});

test("null optional fields are dropped, unknown fields kept", async () => {
  const { fetch } = scripted({ status: 200, body: generation("failed", { cost: null, error: { kind: "provider", message: "no", code: null }, later: 1 }) });
  const g = await createClient({ baseUrl: "https://api.example", token: "t", fetch }).getGeneration("g1");
  assert.equal("cost" in g, false);
  assert.deepEqual(g.error, { kind: "provider", message: "no" });
  assert.equal((g as unknown as { later: number }).later, 1);
});

test("waitForGeneration: updates once per state, retries transient failures, gives up on others", async () => {
  const { fetch, requests } = scripted(
    { status: 200, body: generation("pending") },
    { status: 200, body: generation("pending") },
    { status: 503, body: { error: { code: "provider_unavailable", message: "later" } } },
    { status: 200, body: generation("processing") },
    { status: 200, body: generation("completed", { outputs: [{ kind: "url", value: "https://x/y.png" }] }) },
  );
  const api = createClient({ baseUrl: "https://api.example", token: "t", fetch });
  const updates: string[] = [];
  const done = await api.waitForGeneration("g1", { interval: 1, onUpdate: (g) => updates.push(g.status) });
  assert.equal(done.status, "completed");
  assert.deepEqual(updates, ["pending", "processing", "completed"]);
  assert.equal(requests.length, 5);

  const failing = scripted({ status: 200, body: generation("pending") }, { status: 503, body: { error: { code: "provider_unavailable", message: "later" } } });
  const e = await rejection(createClient({ baseUrl: "https://a", token: "t", fetch: failing.fetch }).waitForGeneration("g1", { interval: 1, retries: 2 }));
  assert.ok(e instanceof ApiError && e.kind === "unavailable");
  assert.equal(failing.requests.length, 4, "one read, then three failures: two retried");

  const gone = scripted({ status: 404, body: { error: { code: "not_found", message: "no generation" } } });
  const notFound = await rejection(createClient({ baseUrl: "https://a", token: "t", fetch: gone.fetch }).waitForGeneration("g1", { interval: 1 }));
  assert.ok(notFound instanceof ApiError && notFound.kind === "not_found");
  assert.equal(gone.requests.length, 1, "a 404 is not retried");
});

test("waitForGeneration: a timeout names the last state; backoff grows the interval up to its cap", async () => {
  const { fetch, requests } = scripted({ status: 200, body: generation("processing") });
  const times: number[] = [];
  const timed: Fetch = (url, init) => {
    times.push(performance.now());
    return fetch(url, init);
  };
  const api = createClient({ baseUrl: "https://api.example", token: "t", fetch: timed });
  const started = Date.now();
  const e = await rejection(api.waitForGeneration("g1", { interval: 20, backoff: 2, maxInterval: 80, timeout: 400 }));
  assert.ok(e instanceof WaitTimeoutError, String(e));
  assert.equal(e.generation.status, "processing");
  assert.ok(Date.now() - started < 5_000);
  // Intervals 20, 40, 80, 80, ... ms (timers never fire early; a busy machine makes them longer,
  // and so the reads fewer): the wait gives up before a sleep would pass the 400 ms.
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
  const floors = [20, 40, 80, 80, 80, 80];
  assert.ok(gaps.length >= 1 && gaps.length <= floors.length, `${requests.length} reads`);
  gaps.forEach((gap, i) => assert.ok(gap >= (floors[i] ?? 80) - 2, `interval ${i + 1} was ${gap.toFixed(1)} ms`));
});

test("runGeneration: Prefer: wait on the create, then polls; onUpdate sees each state once", async () => {
  const { fetch, requests } = scripted(
    { status: 201, body: generation("processing") },
    { status: 200, body: generation("processing") },
    { status: 200, body: generation("completed") },
  );
  const updates: string[] = [];
  const done = await createClient({ baseUrl: "https://a", token: "t", fetch }).runGeneration("nano_banana", { prompt: "x" }, { interval: 1, onUpdate: (g) => updates.push(g.status) });
  assert.equal(done.status, "completed");
  assert.deepEqual(updates, ["processing", "completed"]);
  assert.equal(requests[0]?.init.headers["Prefer"], "wait=30");
  assert.match(requests[0]?.init.headers["Idempotency-Key"] ?? "", /^[0-9a-f-]{36}$/);
});

test("the platform's fetch is called as a plain function (a browser's refuses another `this`)", async () => {
  const seen: unknown[] = [];
  const strict: Fetch = function (this: unknown, url: string, init: FetchInit) {
    seen.push(this);
    return scripted({ status: 200, body: { user_id: "u", balance: "1", available: "1" } }).fetch(url, init);
  };
  await createClient({ baseUrl: "https://a", token: "t", fetch: strict }).getAccount();
  assert.deepEqual(seen, [undefined]);
});
