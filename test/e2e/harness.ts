/**
 * What every browser test needs: the web UI built, real `clipdb serve` processes on free ports
 * (started, waited for by their health route, stopped), Debian's Chromium driven by playwright-core,
 * and a wait for a search to settle. Every wait is on a condition, never a fixed delay.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { expect } from "vitest";
import { freePort } from "../fixtures/net.js";
import { ROOT } from "../server/helpers.js";

/** Debian's Chromium (never a downloaded browser); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where screenshots go (ignored by git). */
export const ARTIFACTS = path.join(ROOT, "test-artifacts");

/** The clipdb CLI: the built binary when present (as `npm test` builds it), else its source via tsx. */
export function cliCommand(): string[] {
  const built = path.join(ROOT, "dist/src/cli/main.js");
  if (existsSync(built)) return [built];
  return [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "src/cli/main.ts")];
}

/** Checks that Chromium is there, makes the artifacts folder and builds the web UI the servers serve. */
export function prepareUi(): void {
  expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`).toBe(true);
  mkdirSync(ARTIFACTS, { recursive: true });
  execFileSync(process.execPath, [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "web", "--logLevel", "warn"], { cwd: ROOT, stdio: "pipe" });
}

/** Launches headless Chromium with the flags these tests need. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"] });
}

/** A running `clipdb serve`: its base URL, process and output so far. */
export interface Served {
  base: string;
  proc: ChildProcess;
  log: () => string;
}

const running: Served[] = [];

/**
 * Starts `clipdb serve --db <db> --port <free> --offline` plus `args` (e.g. `--model <dir>`), and
 * resolves once `/api/v1/health` answers; rejects with the server's output if it exits first.
 * Offline: CLIPDB_OFFLINE=1 in its environment.
 */
export async function serve(db: string, args: string[] = []): Promise<Served> {
  const port = await freePort();
  const proc = spawn(process.execPath, [...cliCommand(), "serve", "--db", db, "--port", String(port), "--offline", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLIPDB_OFFLINE: "1" },
  });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const s: Served = { base: `http://127.0.0.1:${port}`, proc, log: () => out };
  running.push(s);
  const exited = new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`clipdb serve exited (${code}):\n${out}`))));
  exited.catch(() => undefined);
  const healthy = (async () => {
    for (;;) {
      const ok = await fetch(`${s.base}/api/v1/health`).then((r) => r.ok, () => false);
      if (ok) return;
      if (proc.exitCode !== null) return;
      await new Promise((r) => setImmediate(r));
    }
  })();
  await Promise.race([healthy, exited]);
  if (proc.exitCode !== null) await exited;
  return s;
}

/** Stops every server `serve` started (SIGTERM, then waits for the exit). */
export async function stopServers(): Promise<void> {
  for (const s of running.splice(0)) {
    if (s.proc.exitCode !== null) continue;
    const exited = new Promise((r) => s.proc.once("exit", r));
    s.proc.kill("SIGTERM");
    await exited;
  }
}

/**
 * Which thumbnails a settled search waits for: those in view ("in-view", the default: lazy ones
 * below the fold are not fetched until scrolled to), or every image on the page ("all", for pages
 * whose results all fit, where a test checks every thumbnail).
 */
export type ImageWait = "in-view" | "all";

/** Waits until a search finished and its thumbnails loaded (see ImageWait). */
export async function settled(page: Page, images: ImageWait = "in-view"): Promise<void> {
  await page.waitForFunction(() => document.querySelector("#results")?.getAttribute("aria-busy") === "false" && !document.body.classList.contains("is-loading"));
  if (images === "all") await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete));
  else await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete || img.getBoundingClientRect().top > innerHeight));
}

/** Runs a text search from the search bar: waits for its response, then for the results to settle. */
export async function searchText(page: Page, text: string, images: ImageWait = "in-view"): Promise<void> {
  await page.locator("#q").fill(text);
  await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/v1/search") && r.request().method() === "POST"), page.locator("#q").press("Enter")]);
  await settled(page, images);
}

/** A new page (default 1280 × 860) whose uncaught page errors are collected in `errors`. */
export async function openPage(browser: Browser, viewport = { width: 1280, height: 860 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, errors };
}

/** Clicks result card `nth` (an item → item search), waits for the "Similar to" query and the results; returns the card's id. */
export async function clickSimilar(page: Page, nth: number, images: ImageWait = "in-view"): Promise<string> {
  const target = page.locator(".grid .card").nth(nth);
  const id = (await target.getAttribute("data-id"))!;
  await target.locator(".card-hit").click();
  await page.waitForFunction(() => (document.querySelector("#query-chip-label")?.textContent ?? "").startsWith("Similar to"));
  await settled(page, images);
  return id;
}
