/**
 * `npm start` builds only what is stale (scripts/build-if-stale.mjs). Run on a copy of the script in
 * a temporary tree whose `tsc` and `vite` are recording scripts, so the decisions are observed
 * without building, and once on this checkout, which `npm test` has just built.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = path.join(ROOT, "scripts/build-if-stale.mjs");
const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-stale-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tree with src/, web/ and recording stand-ins for tsc and vite that write their outputs. */
function tree(): string {
  const root = mkdtempSync(path.join(tmp, "t-"));
  for (const d of ["scripts", "src/cli", "web/src", "node_modules/.bin"]) mkdirSync(path.join(root, d), { recursive: true });
  copyFileSync(SCRIPT, path.join(root, "scripts/build-if-stale.mjs"));
  writeFileSync(path.join(root, "src/cli/main.ts"), "export {};\n");
  writeFileSync(path.join(root, "tsconfig.json"), "{}\n");
  writeFileSync(path.join(root, "package.json"), "{}\n");
  writeFileSync(path.join(root, "web/src/main.ts"), "export {};\n");
  const rec = (name: string, out: string) => {
    const f = path.join(root, "node_modules/.bin", name);
    writeFileSync(f, `#!/bin/sh\necho ${name} >> "${root}/calls"\nmkdir -p "$(dirname "${root}/${out}")"\necho built > "${root}/${out}"\n`);
    chmodSync(f, 0o755);
  };
  rec("tsc", "dist/src/cli/main.js");
  rec("vite", "web/dist/index.html");
  return root;
}

function start(root: string): string[] {
  const r = spawnSync(process.execPath, [path.join(root, "scripts/build-if-stale.mjs")], { encoding: "utf8" });
  expect(r.status).toBe(0);
  const calls = existsSync(path.join(root, "calls")) ? readFileSync(path.join(root, "calls"), "utf8").trim().split("\n") : [];
  rmSync(path.join(root, "calls"), { force: true });
  return calls;
}

/** Sets a file's mtime to `s` seconds from now. */
const age = (file: string, s: number) => utimesSync(file, new Date(Date.now() + s * 1000), new Date(Date.now() + s * 1000));

const SOURCES = ["src/cli/main.ts", "tsconfig.json", "package.json", "web/src/main.ts"];
const OUTPUTS = ["dist/src/cli/main.js", "web/dist/index.html"];

/** Lets time pass: sources an hour old, the outputs built after them (half an hour ago). */
function settle(root: string): void {
  for (const f of SOURCES) age(path.join(root, f), -3600);
  for (const f of OUTPUTS) if (existsSync(path.join(root, f))) age(path.join(root, f), -1800);
}

/** Edits a source file now. */
const edit = (root: string, f: string) => age(path.join(root, f), 0);

describe("npm start builds only what is stale", () => {
  it("builds both on a fresh tree, nothing when unchanged, and only the part that changed", () => {
    const root = tree();
    expect(start(root)).toEqual(["tsc", "vite"]);
    settle(root);
    expect(start(root)).toEqual([]);
    edit(root, "web/src/main.ts");
    expect(start(root)).toEqual(["vite"]);
    settle(root);
    edit(root, "src/cli/main.ts");
    expect(start(root)).toEqual(["tsc"]);
    settle(root);
    edit(root, "tsconfig.json");
    expect(start(root)).toEqual(["tsc"]);
    settle(root);
    rmSync(path.join(root, "web/dist"), { recursive: true });
    expect(start(root)).toEqual(["vite"]);
  });

  it("a failed build stops the start with its exit status", () => {
    const root = tree();
    writeFileSync(path.join(root, "node_modules/.bin/tsc"), "#!/bin/sh\nexit 3\n");
    const r = spawnSync(process.execPath, [path.join(root, "scripts/build-if-stale.mjs")], { encoding: "utf8" });
    expect(r.status).toBe(3);
  });

  it("this checkout, just built by npm test, needs no build", () => {
    const r = spawnSync(process.execPath, [SCRIPT, "--dry-run"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });
});
