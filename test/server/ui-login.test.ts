/**
 * The web UI's token prompt, in Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * a server that needs the token for reads (as off loopback with --token) answers the UI's first
 * call with 401; the UI asks for the token, keeps it for the tab (sessionStorage), sends it as a
 * Bearer header, and loads thumbnails with it. The server is built as if bound to 0.0.0.0 but
 * listens on 127.0.0.1 only. The UI is built into a temporary folder (not web/dist, which the
 * e2e test builds at the same time).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages, ROOT } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "ui-login-token";

let tmp: string;
let col: Collection;
let app: FastifyInstance;
let base: string;
let browser: Browser;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`).toBe(true);
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-ui-login-"));
  const web = path.join(tmp, "web");
  execFileSync(process.execPath, [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "web", "--outDir", web, "--emptyOutDir", "--logLevel", "warn"], { cwd: ROOT, stdio: "pipe" });
  col = await Collection.open(path.join(tmp, "db"), { model: testModelDir(), offline: true });
  const imgs = cocoImages(6, { skip: 80 });
  expect((await col.addImages(imgs.map((c) => ({ path: c.file, id: `coco/${c.name}`, captions: c.captions.slice(0, 1) })))).failed).toBe(0);
  app = await buildServer(col, { host: "0.0.0.0", token: TOKEN, webRoot: web });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await col?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the web UI on a server that needs a token for reads", () => {
  it("asks for the token, refuses a wrong one, keeps the right one for the tab, and loads thumbnails with it", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const authHeaders: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/v1/")) authHeaders.push(r.headers()["authorization"] ?? "");
    });
    await page.goto(base);

    // The first API call answers 401: the login dialog opens.
    await page.locator("#login").waitFor({ state: "visible" });
    await page.locator("#login-token").fill("wrong");
    await page.locator("#login-form button[type=submit]").click();
    await page.locator("#login-error").waitFor({ state: "visible" });
    expect(await page.locator("#login").isVisible()).toBe(true);

    await page.locator("#login-token").fill(TOKEN);
    await page.locator("#login-token").press("Enter");
    await page.locator("#login").waitFor({ state: "hidden" });
    await expect.poll(() => page.locator("#stats").innerText()).toContain("6 images");
    expect(await page.evaluate(() => sessionStorage.getItem("clipdb.token"))).toBe(TOKEN);

    // A search, with thumbnails fetched with the token (an <img> alone would get 401).
    await page.locator("#q").fill("a photo");
    await page.locator("#q").press("Enter");
    await page.locator(".grid .card").first().waitFor();
    await page.waitForFunction(() => {
      const imgs = Array.from(document.querySelectorAll<HTMLImageElement>(".grid .card img"));
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    expect(await page.locator(".grid .card").count()).toBe(6);
    expect(authHeaders).toContain(`Bearer ${TOKEN}`);

    // Reloading the tab keeps the token: no prompt.
    await page.reload();
    await expect.poll(() => page.locator("#stats").innerText()).toContain("6 images");
    expect(await page.locator("#login").isVisible()).toBe(false);

    // Cancelling the prompt in a new tab shows why nothing loads.
    const other = await browser.newPage();
    await other.goto(base);
    await other.locator("#login").waitFor({ state: "visible" });
    await other.locator("#login-cancel").click();
    await expect.poll(() => other.locator("#stats").innerText()).toContain("Token needed");
    await other.close();

    expect(errors).toEqual([]);
    await page.close();
  });
});
