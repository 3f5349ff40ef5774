// The built example page (examples/web, built by run.sh into target/ts/web) served on
// loopback, and headless Chromium (Debian's, driven by playwright-core) to open it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";

import { chromium, type Browser, type ConsoleMessage, type Page } from "playwright-core";

import { repoRoot } from "./support.js";

const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** Where run.sh builds the page. */
export const site = join(repoRoot(), "target", "ts", "web");
/** Where the screenshots go. */
export const artifacts = join(repoRoot(), "target", "ts-artifacts");

/** The built page served on a loopback port. */
export interface Site {
  /** `http://127.0.0.1:<port>`: the origin the API must allow (`--cors-origin`). */
  readonly origin: string;
  close(): Promise<void>;
}

/** Serve the built page (`index.html`, `ops.html` and their assets) on loopback. */
export async function serveSite(): Promise<Site> {
  assert.ok(existsSync(join(site, "index.html")), `build the page first: ${site} is missing`);
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(site, path.endsWith("/") ? join(path, "index.html") : path);
    if (!file.startsWith(site) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Start headless Chromium. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A console message of type error, or an uncaught exception, with where it came from. */
export interface PageError {
  readonly text: string;
  /** The script or, for a failed request that the browser logs, the request's URL. */
  readonly url: string;
}

/** A new tab whose console errors and uncaught exceptions are collected in `errors`. */
export async function openTab(browser: Browser): Promise<{ page: Page; errors: PageError[] }> {
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  const errors: PageError[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") errors.push({ text: m.text(), url: m.location().url });
  });
  page.on("pageerror", (e) => errors.push({ text: `uncaught: ${e.message}`, url: "" }));
  return { page, errors };
}
