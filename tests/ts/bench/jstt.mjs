// json-schema-to-typescript on the params schemas that `ts_bench` wrote, one compile per
// model (its usual use), with and without its prettier formatting.
//
//   node tests/ts/bench/jstt.mjs target/ts-bench/schemas-1000.json [...]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { compile } from "json-schema-to-typescript";

for (const path of process.argv.slice(2)) {
  const schemas = JSON.parse(readFileSync(path, "utf8"));
  const ids = Object.keys(schemas);
  for (const format of [false, true]) {
    const start = performance.now();
    let bytes = 0;
    for (const id of ids) {
      const ts = await compile(schemas[id], `${id}_params`, { bannerComment: "", format, additionalProperties: false });
      bytes += ts.length;
    }
    const ms = performance.now() - start;
    console.log(JSON.stringify({ models: ids.length, tool: "json-schema-to-typescript", format, ms: Math.round(ms), bytes }));
  }
}
