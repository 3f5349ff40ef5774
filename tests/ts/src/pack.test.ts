// generated/ts as an npm package: `npm pack` compiles it (prepack) into a tarball of .js and
// .d.ts files; a fresh project elsewhere installs the tarball offline, type-checks a consumer
// with `tsc --strict` (for a browser app, and with no DOM or Node types at all), including
// `@ts-expect-error` lines that wrong params must trip, and runs it with node.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { repoRoot } from "./support.js";

const root = repoRoot();
const pkgDir = join(root, "generated", "ts");
const tsc = join(root, "tests", "ts", "node_modules", ".bin", "tsc");
const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
  name: string;
  version: string;
  exports: { ".": { types: string; import: string } };
};

let work: string;
let tarball: string;

function run(command: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${err.stdout ?? ""}${err.stderr ?? ""}${err.message}`);
  }
}

before(() => {
  work = mkdtempSync(join(tmpdir(), "registry-pack-"));
  try {
    run("npm", ["pack", pkgDir, "--pack-destination", work, "--loglevel=error"], root);
  } finally {
    // prepack writes dist/ into generated/ts and postpack removes it; never leave it there.
    rmSync(join(pkgDir, "dist"), { recursive: true, force: true });
  }
  const tgz = readdirSync(work).filter((f) => f.endsWith(".tgz"));
  assert.equal(tgz.length, 1, `one tarball: ${tgz.join(", ")}`);
  tarball = join(work, tgz[0] ?? "");
});

after(() => {
  if (work !== undefined) {
    rmSync(work, { recursive: true, force: true });
  }
});

test("the tarball holds the compiled package: .js and .d.ts of every module, no sources", () => {
  assert.equal(existsSync(join(pkgDir, "dist")), false, "postpack removed generated/ts/dist");
  assert.equal(manifest.exports["."].types, "./dist/index.d.ts");
  assert.equal(manifest.exports["."].import, "./dist/index.js");
  const files = run("tar", ["-tzf", tarball], work).trim().split("\n").sort();
  const modules = readdirSync(pkgDir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3));
  assert.ok(modules.includes("client") && modules.includes("index"));
  const expected = ["package/package.json", ...modules.flatMap((m) => [`package/dist/${m}.d.ts`, `package/dist/${m}.js`])].sort();
  assert.deepEqual(files, expected);
});

test("a fresh project installs the tarball offline, type-checks a consumer strictly and runs it", () => {
  const app = join(work, "app");
  run("mkdir", ["-p", app], work);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], app);
  const installed = JSON.parse(readFileSync(join(app, "node_modules", ...manifest.name.split("/"), "package.json"), "utf8")) as { version: string };
  assert.equal(installed.version, manifest.version);

  const strict = {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitReturns: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    target: "ES2022",
    types: [],
  };
  // A browser app: DOM types, the platform's fetch and AbortSignal; compiled and run by node.
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { ...strict, lib: ["ES2022", "DOM"], module: "NodeNext", moduleResolution: "NodeNext", outDir: "out" }, include: ["app.ts"] }),
  );
  writeFileSync(
    join(app, "app.ts"),
    `import { ApiError, MODELS, calculateCost, createClient, isApiError, validateParams, type Fetch, type Generation, type ParamsFor } from "${manifest.name}";

const params: ParamsFor<"seedance_v1_lite"> = { prompt: "Ocean waves", resolution: "1080p" };
const created = {
  id: "g1", model: "seedance_v1_lite", content_type: "video", status: "pending", params,
  created_at: "2026-12-01T00:00:00.000Z", updated_at: "2026-12-01T00:00:00.000Z",
};
const sent: string[] = [];
const fake: Fetch = async (url, init) => {
  sent.push(\`\${init.method} \${url} \${init.headers["Prefer"] ?? ""}\`);
  return { status: 201, headers: { get: () => null }, text: async () => JSON.stringify(created) };
};
const api = createClient({ baseUrl: "https://api.example", token: () => "t", fetch: fake });
// The platform's fetch and AbortSignal fit the options.
export const real = createClient({ baseUrl: "https://api.example", token: "t", fetch });
export const abortable = (id: string) => real.waitForGeneration(id, { signal: new AbortController().signal });

export function typeErrors(): void {
  // @ts-expect-error "4k" is not a resolution of seedance_v1_lite
  void api.createGeneration("seedance_v1_lite", { prompt: "x", resolution: "4k" });
  // @ts-expect-error gpt_image_1 has no duration
  void api.createGeneration("gpt_image_1", { prompt: "x", duration: 5 });
  // @ts-expect-error prompt is required
  void api.createGeneration("seedance_v1_lite", { resolution: "720p" });
  // @ts-expect-error no such model
  void api.createGeneration("seedance_v9", { prompt: "x" });
  // @ts-expect-error "done" is not a status
  void api.listGenerations({ status: "done" });
}

const g: Generation = await api.createGeneration("seedance_v1_lite", params, { wait: 10 });
let kind = "";
try {
  await createClient({ baseUrl: "https://api.example", token: "t", fetch: async () => ({ status: 503, headers: { get: () => null }, text: async () => '{"error":{"code":"provider_unavailable","message":"later"}}' }) }).getAccount();
} catch (e) {
  kind = isApiError(e) && e instanceof ApiError ? e.kind : "other";
}
console.log(JSON.stringify({
  cost: calculateCost("seedance_v1_lite", params),
  valid: validateParams("seedance_v1_lite", params).ok,
  display: MODELS.seedance_v1_lite.displayName,
  status: g.status,
  sent,
  kind,
}));
`,
  );
  run(tsc, ["-p", "tsconfig.json"], app);
  const out = JSON.parse(run("node", [join(app, "out", "app.js")], app)) as { [key: string]: unknown };
  assert.deepEqual(out, {
    cost: "20",
    valid: true,
    display: "Seedance V1 Lite",
    status: "pending",
    sent: ["POST https://api.example/v1/generations wait=10"],
    kind: "unavailable",
  });

  // Wrong params are refused by the package's types: without the directives, tsc fails.
  writeFileSync(join(app, "wrong.ts"), readFileSync(join(app, "app.ts"), "utf8").replace(/^\s*\/\/ @ts-expect-error.*$/gm, ""));
  writeFileSync(
    join(app, "tsconfig.wrong.json"),
    JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { noEmit: true }, include: ["wrong.ts"] }),
  );
  let errors = "";
  try {
    run(tsc, ["-p", "tsconfig.wrong.json", "--pretty", "false"], app);
  } catch (e) {
    errors = String(e);
  }
  const codes = [...errors.matchAll(/wrong\.ts\((\d+),\d+\): error (TS\d+)/g)].map((m) => m[2]);
  assert.equal(codes.length, 5, `five type errors, one per wrong call:\n${errors}`);

  // No DOM and no Node types at all (a worker, a server-side renderer): the declarations stand
  // alone, with the client's own AbortSignal and fetch types.
  writeFileSync(
    join(app, "tsconfig.bare.json"),
    JSON.stringify({ compilerOptions: { ...strict, lib: ["ES2022"], module: "ESNext", moduleResolution: "Bundler", noEmit: true }, include: ["bare.ts"] }),
  );
  writeFileSync(
    join(app, "bare.ts"),
    `import { createClient, type FetchResponse, type MinimalAbortSignal, type AbortSignalLike, type ServedModel } from "${manifest.name}";

const signal: AbortSignalLike = { aborted: false, addEventListener() {}, removeEventListener() {} };
export const same: MinimalAbortSignal = signal;
const answer: FetchResponse = { status: 200, headers: { get: () => null }, text: async () => "[]" };
const api = createClient({ baseUrl: "https://api.example", token: "t", fetch: async () => answer });
export const models: Promise<readonly ServedModel[]> = api.listModels({ signal });
`,
  );
  run(tsc, ["-p", "tsconfig.bare.json"], app);
});
