import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

// Two pages: index.html (generate) and ops.html (operations). The build goes to target/
// (ignored by git), where the browser test serves it from.
export default defineConfig({
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("../../target/ts/web", import.meta.url)),
    emptyOutDir: true,
    rolldownOptions: { input: { index: page("index.html"), ops: page("ops.html") } },
  },
  server: { fs: { allow: ["../.."] } },
});
