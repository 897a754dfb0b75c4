import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The clipdb web UI: plain TypeScript and CSS, built to web/dist, which the server serves at "/".
 * `npx vite web` runs a dev server that proxies /api and /openapi.json to a `clipdb serve` on :7860.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:7860",
      "/openapi.json": "http://127.0.0.1:7860",
    },
  },
});
