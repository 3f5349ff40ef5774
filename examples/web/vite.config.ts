import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";

// The build goes to target/ (ignored by git), where the browser test serves it from.
export default defineConfig({
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("../../target/ts/web", import.meta.url)),
    emptyOutDir: true,
  },
  server: { fs: { allow: ["../.."] } },
});
