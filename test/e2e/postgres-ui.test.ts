/**
 * The web UI over a Postgres collection (issue 11: every front end works unchanged on both stores):
 * `clipdb serve --db postgres://…` on PGlite over TCP, images uploaded through the HTTP API (so the
 * collection lives only in the database: uploads and thumbnails are blobs), then searched by text,
 * by an uploaded image and item → item in Chromium.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PgServer, startPgServer } from "../../scripts/lib/pg-server.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages } from "../server/helpers.js";
import { ARTIFACTS, clickSimilar, launchBrowser, openPage, prepareUi, searchText, serve, settled, stopServers } from "./harness.js";

const imgs = cocoImages(6);
let pg: PgServer;
let base: string;
let browser: Browser;

beforeAll(async () => {
  prepareUi();
  pg = await startPgServer();
  // PGlite serves one connection at a time: the product's pool, sized to 1 (as the docs say).
  process.env.CLIPDB_PG_POOL = "1";
  base = (await serve(`${pg.url}?schema=ui`, ["--model", testModelDir(), "--create"])).base;
  for (const img of imgs) {
    const form = new FormData();
    form.append("image", new Blob([new Uint8Array(readFileSync(img.file))], { type: "image/jpeg" }), img.name);
    form.append("text", img.captions[0]);
    form.append("id", `coco/${img.name}`);
    const res = await fetch(`${base}/api/v1/items`, { method: "POST", body: form });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopServers();
  await pg?.stop();
  delete process.env.CLIPDB_PG_POOL;
});

describe("the web UI on a Postgres collection", () => {
  it("searches by text, by an uploaded image and item → item, with thumbnails served from the database", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(base);
    await expect.poll(() => page.locator("#stats").innerText()).toContain("6 images");

    await searchText(page, "a photo");
    expect(await page.locator(".grid .card").count()).toBe(6); // the UI searches images by default
    expect(await page.$$eval(".grid .card img", (els) => els.length > 0 && els.every((i) => (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "ui-postgres-text-search.png") });

    // An uploaded query image that is stored in the collection ranks first.
    await page.locator("#file").setInputFiles(imgs[2].file);
    await page.waitForFunction((name) => (document.querySelector("#query-chip-label")?.textContent ?? "").includes(name), imgs[2].name);
    await settled(page);
    await expect.poll(() => page.locator(".grid .card").first().getAttribute("data-id")).toBe(`coco/${imgs[2].name}`);

    // Click a result: similar items, from the database.
    const targetId = await clickSimilar(page, 1);
    expect(new URL(page.url()).searchParams.get("item")).toBe(targetId);
    expect(await page.locator(".grid .card").count()).toBeGreaterThan(0);

    // The full image is the uploaded bytes, read back from the database.
    const full = await fetch(`${base}/api/v1/items/${encodeURIComponent(`coco/${imgs[0].name}`)}/image`);
    expect(full.status).toBe(200);
    expect(Buffer.from(await full.arrayBuffer()).equals(readFileSync(imgs[0].file))).toBe(true);
    expect(errors).toEqual([]);
  });
});
