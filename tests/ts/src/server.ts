// The real server binary (`cargo build -p server`), started in mock mode on a free loopback
// port for a test file: nothing leaves the machine.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { repoRoot } from "./support.js";

/** A running server. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The development token it printed (the local user's). */
  readonly token: string;
  /** What it wrote to stderr so far (its logs), for failure messages. */
  logs(): string;
  /** SIGTERM, and wait for it to exit. */
  stop(): Promise<void>;
}

/**
 * The server binary: `$SERVER_BIN`, else `target/debug/server` under `$CARGO_TARGET_DIR` or
 * the workspace. `tests/ts/run.sh` builds it first.
 */
export function serverBinary(): string {
  const bin = process.env["SERVER_BIN"] ?? join(process.env["CARGO_TARGET_DIR"] ?? join(repoRoot(), "target"), "debug", "server");
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: build it with \`cargo build -p server\` (tests/ts/run.sh does)`);
  }
  return bin;
}

/** Start `server --mock --listen 127.0.0.1:0 ...args` and wait for its address and token. */
export function startServer(args: readonly string[] = []): Promise<RunningServer> {
  const child: ChildProcess = spawn(serverBinary(), ["--mock", "--listen", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env["RUST_LOG"] ?? "warn" },
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
    }
    await exited;
  };
  return new Promise((resolve, reject) => {
    let url: string | undefined;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the server did not print its address and token within 20 s:\n${stderr}`));
    }, 20_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before it was ready:\n${stderr}`));
    });
    if (child.stdout === null) {
      reject(new Error("no stdout"));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const listening = /^listening on (\S+)/.exec(line);
      if (listening?.[1] !== undefined) {
        url = listening[1];
      }
      const dev = /^dev token: (\S+)/.exec(line);
      if (dev?.[1] !== undefined && url !== undefined) {
        clearTimeout(timer);
        resolve({ url, token: dev[1], logs: () => stderr, stop });
      }
    });
  });
}
