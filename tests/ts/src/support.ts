import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The workspace root: the nearest ancestor with `models/` and `Cargo.toml`. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, "models")) && existsSync(join(dir, "Cargo.toml")))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error("no workspace root above " + fileURLToPath(import.meta.url));
    }
    dir = parent;
  }
  return dir;
}

/** A JSON file of the workspace, parsed. */
export function readJson(...path: string[]): unknown {
  return JSON.parse(readFileSync(join(repoRoot(), ...path), "utf8"));
}
