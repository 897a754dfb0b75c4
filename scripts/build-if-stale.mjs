#!/usr/bin/env node
/**
 * Builds only what is stale, for `npm start`: the TypeScript (src/ → dist/) when a source file or
 * the config is newer than the last build, and the web UI (web/ → web/dist/) likewise. A fresh
 * checkout builds both; an unchanged one starts at once. Plain JavaScript, so it runs before
 * anything is built. `npm run build` always rebuilds everything. `--dry-run`: only say what is stale.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Newest mtime (ms) of the files under `paths` (folders walked, `skip` folder names left out). */
function newest(paths, skip = []) {
  let max = 0;
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (skip.includes(path.basename(p))) return;
      for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    } else max = Math.max(max, st.mtimeMs);
  };
  for (const p of paths) visit(path.join(root, p));
  return max;
}

/** mtime of one output file, or 0 when it does not exist. */
function builtAt(file) {
  try {
    return fs.statSync(path.join(root, file)).mtimeMs;
  } catch {
    return 0;
  }
}

const dryRun = process.argv.includes("--dry-run");

function run(what, cmd, args) {
  process.stderr.write(`${dryRun ? "stale" : "building"}: ${what}\n`);
  if (dryRun) return;
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const bin = (name) => path.join(root, "node_modules", ".bin", name);
const tsOut = "dist/src/cli/main.js";
if (newest(["src", "tsconfig.json", "package.json"]) > builtAt(tsOut)) {
  run("the TypeScript", bin("tsc"), ["-p", "tsconfig.json"]);
  // tsc rewrites every output, but touch the entry anyway so the check holds whatever it does.
  if (!dryRun) {
    const now = new Date();
    fs.utimesSync(path.join(root, tsOut), now, now);
  }
}
const webOut = "web/dist/index.html";
if (newest(["web"], ["dist", "node_modules"]) > builtAt(webOut)) {
  run("the web UI", bin("vite"), ["build", "web", "--logLevel", "warn"]);
}
