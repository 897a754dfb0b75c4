/**
 * Writes web/src/api.gen.ts, the web UI's wire types, from the server's live OpenAPI document
 * (see scripts/lib/api-types.ts). Run `npm run gen:api` after changing src/server/schemas*.ts;
 * `--check` only says whether the file is current (exit 1 when stale).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { API_TYPES_FILE, apiTypes, liveDocument } from "./lib/api-types.js";

const text = await apiTypes(await liveDocument());
let current = "";
try {
  current = readFileSync(API_TYPES_FILE, "utf8");
} catch {
  // not written yet
}
if (process.argv.includes("--check")) {
  console.log(current === text ? "web/src/api.gen.ts is current" : "web/src/api.gen.ts is stale: run npm run gen:api");
  process.exitCode = current === text ? 0 : 1;
} else if (current === text) {
  console.log("web/src/api.gen.ts is current");
} else {
  writeFileSync(API_TYPES_FILE, text);
  console.log("wrote web/src/api.gen.ts");
}
