/**
 * Browser test of browsing (issues 12 and 15): the viewer (full image, captions, details,
 * near-duplicates, search similar, ← → and Escape), Load more by cursor, JSON and CSV downloads,
 * the ranking control, keyboard focus and arrow keys between results, messages written for the
 * UI (a broken upload names the file and offers another pick; k out of range is said), HNSW's
 * "n/a scanned", an empty collection's guidance, and phone width. Real `clipdb serve` processes over
 * real COCO images (generated test model), driven in Debian's Chromium with playwright-core.
 * Every wait is on a condition (a selector, a response, an event); screenshots go to test-artifacts/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages } from "../server/helpers.js";
import { ARTIFACTS, launchBrowser, openPage, prepareUi, searchText, serve, settled, stopServers } from "./harness.js";

const imgs = cocoImages(16);
const COPY_ID = "copies/reencoded.jpg";

let tmp: string;
let browser: Browser;

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

const activeId = (page: Page): Promise<string | null> => page.evaluate(() => document.activeElement?.closest("[data-id]")?.getAttribute("data-id") ?? document.activeElement?.tagName ?? null);

let base: string;
let emptyBase: string;

beforeAll(async () => {
  prepareUi();
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-browse-"));
  const db = path.join(tmp, "db");
  const col = await Collection.open(db, { model: testModelDir(), offline: true });
  // A re-encoded copy of the first image: its near-duplicate, which the viewer lists.
  const copy = path.join(tmp, "reencoded.jpg");
  writeFileSync(copy, await sharp(imgs[0].file).jpeg({ quality: 70 }).toBuffer());
  const sum = await col.addImages([...imgs.map((img) => ({ path: img.file, id: `coco/${img.name}`, captions: img.captions, meta: { split: "val" } })), { path: copy, id: COPY_ID }]);
  expect(sum.failed).toBe(0);
  await col.buildIndex({ type: "hnsw" });
  await col.close();
  base = (await serve(db, ["--model", testModelDir()])).base;
  emptyBase = (await serve(path.join(tmp, "empty"), ["--model", testModelDir(), "--create"])).base;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stopServers();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("browsing in Chromium", () => {
  it("desktop: focus outline, arrow keys, Enter keeps focus on results, viewer with captions, details, duplicates, ← → and Escape", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(base);
    await searchText(page, "a man riding");
    const cards = page.locator(".card-hit");
    expect(await cards.count()).toBeGreaterThan(4);

    // A focused card has a visible outline; arrow keys move between results.
    await page.keyboard.press("Tab"); // leave the search box, then focus the first card as Tab would
    await cards.first().focus();
    const firstId = await activeId(page);
    await page.keyboard.press("ArrowRight");
    const secondId = await activeId(page);
    expect(secondId).not.toBe(firstId);
    expect(secondId).toBe(await page.locator(".card").nth(1).getAttribute("data-id"));
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!.closest(".card")!).outlineStyle)).toBe("solid");
    await shot(page, "browse-desktop-focus");
    await page.keyboard.press("ArrowLeft");
    expect(await activeId(page)).toBe(firstId);

    // Enter on a card searches similar items; focus lands on the new results, not on <body>.
    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/v1/search")), page.keyboard.press("Enter")]);
    await settled(page);
    await page.waitForFunction(() => document.activeElement?.matches(".card-hit, .row-hit") ?? false);
    expect(await page.locator("#query-chip-label").innerText()).toMatch(/^Similar to/);

    // The viewer: the original image's card, from a search by the original.
    await page.goto(`${base}/?item=${encodeURIComponent(`coco/${imgs[0].name}`)}&in=image`);
    await settled(page);
    const copyCard = page.locator(`.card[data-id="${COPY_ID}"]`);
    await copyCard.locator(".view-button").click();
    const box = page.locator("#lightbox");
    await box.waitFor({ state: "visible" });
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>("#lightbox .lightbox-img")?.naturalWidth ?? 0) > 0);
    expect(await box.locator(".lightbox-title").innerText()).toBe("reencoded.jpg");
    // The copy has no captions of its own; its near-duplicate (the original) is listed.
    await box.locator(".lightbox-captions li", { hasText: "No captions" }).waitFor();
    await box.locator(`.lightbox-dupe[title^="coco/${imgs[0].name}"]`).waitFor();
    expect(await box.locator(".lightbox-meta").innerText()).toContain("score (cosine)");
    await shot(page, "browse-desktop-viewer-duplicates");
    // → moves to the next result: a COCO image with its five captions and its metadata.
    const pos = await box.locator(".lightbox-pos").innerText();
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction((before) => document.querySelector("#lightbox .lightbox-pos")?.textContent !== before, pos);
    await page.waitForFunction(() => document.querySelectorAll("#lightbox .lightbox-captions li:not(.muted)").length === 5);
    expect(await box.locator(".lightbox-meta").innerText()).toContain("split");
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>("#lightbox .lightbox-img")?.naturalWidth ?? 0) > 0);
    await shot(page, "browse-desktop-viewer");
    await page.keyboard.press("ArrowLeft");
    await page.waitForFunction((before) => document.querySelector("#lightbox .lightbox-pos")?.textContent === before, pos);
    // Escape closes and gives focus back to the result it was opened from.
    await page.keyboard.press("Escape");
    await box.waitFor({ state: "hidden" });
    expect(await activeId(page)).toBe(COPY_ID);

    // "Search similar" in the viewer starts an item search.
    await copyCard.locator(".view-button").click();
    await box.waitFor({ state: "visible" });
    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/v1/search")), box.locator(".lightbox-similar").click()]);
    await settled(page);
    await box.waitFor({ state: "hidden" });
    expect(await page.locator("#query-chip-label").innerText()).toContain("reencoded.jpg");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("desktop: Load more by cursor, downloads as JSON and CSV, ranking control, k clamps said, HNSW n/a", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    await page.goto(`${base}/?q=${encodeURIComponent("a dog")}&in=any&k=6&index=exact`);
    await settled(page);
    const hits = page.locator("#results [data-rank]");
    expect(await hits.count()).toBe(6);
    const [more] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith("/api/v1/search") && (r.postData() ?? "").includes("cursor")),
      page.locator("#load-more").click(),
    ]);
    expect(JSON.parse(more.postData()!)).toEqual({ cursor: expect.any(String) });
    await page.waitForFunction(() => document.querySelectorAll("#results [data-rank]").length === 12);
    const ranks = (await hits.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-rank"))))).sort((a, b) => a - b);
    expect(ranks).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await shot(page, "browse-desktop-load-more");

    const [json] = await Promise.all([page.waitForEvent("download"), page.locator("#download-json").click()]);
    const body = JSON.parse(readFileSync((await json.path())!, "utf8"));
    expect(body.query).toBe("a dog");
    expect(body.results.map((r: { rank: number }) => r.rank).sort((a: number, b: number) => a - b)).toEqual(ranks);
    const [csv] = await Promise.all([page.waitForEvent("download"), page.locator("#download-csv").click()]);
    const lines = readFileSync((await csv.path())!, "utf8").trim().split("\r\n");
    expect(lines[0]).toBe("rank,id,modality,score,relevance,path,text,caption,pairs");
    expect(lines.length).toBe(13);

    // Hybrid ranking through the API's mode, said beside the latency.
    await Promise.all([
      page.waitForRequest((r) => r.url().endsWith("/api/v1/search") && JSON.parse(r.postData() ?? "{}").mode === "hybrid"),
      page.locator('input[name="mode"][value="hybrid"]').check({ force: true }),
    ]);
    await settled(page);
    await page.waitForFunction(() => document.querySelector("#latency")?.textContent?.includes("hybrid"));

    // k out of range: clamped, shown in the box, and said.
    await page.locator("#k").fill("0");
    await page.locator("#k").press("Enter");
    await page.locator("#toast", { hasText: "k is at least 1: using 1" }).waitFor();
    expect(await page.locator("#k").inputValue()).toBe("1");
    await page.locator("#k").fill("1000");
    await page.locator("#k").press("Enter");
    await page.locator("#toast", { hasText: "k is at most 200: using 200" }).waitFor();
    expect(await page.locator("#k").inputValue()).toBe("200");

    // HNSW does not count what it scans: n/a, not 0.
    await page.locator('input[name="mode"][value="vector"]').check({ force: true });
    await settled(page);
    await page.locator('input[name="index"][value="hnsw"]').check({ force: true });
    await page.waitForFunction(() => document.querySelector("#latency")?.textContent?.includes("hnsw"));
    expect(await page.locator("#latency").innerText()).toContain("n/a scanned");
    await page.close();
  });

  it("messages for the UI: a broken upload names the file and offers another pick; an empty collection keeps its guidance", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(base);
    await page.locator("#stats", { hasText: "17 images" }).waitFor();
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/v1/search/image")),
      page.locator("#file").setInputFiles({ name: "broken.jpg", mimeType: "image/jpeg", buffer: Buffer.from("this is not a jpeg at all, only text bytes") }),
    ]);
    await page.locator(".state-error").waitFor();
    const text = await page.locator(".state-error").innerText();
    expect(text).toContain("“broken.jpg” could not be read as an image");
    expect(text).not.toMatch(/`|<buffer|--index/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("pick-another");
    await shot(page, "browse-desktop-broken-upload");
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.locator("#pick-another").click()]);
    expect(chooser.isMultiple()).toBe(false);

    // An empty collection: the guidance stays after a search.
    await page.goto(emptyBase);
    await page.locator(".state", { hasText: "This collection is empty" }).waitFor();
    await page.locator("#q").fill("a dog");
    await page.locator("#q").press("Enter");
    await page.waitForFunction(() => document.querySelector("#results")?.getAttribute("aria-busy") === "false" && !document.body.classList.contains("is-loading"));
    const after = await page.locator("#results").innerText();
    expect(after).toContain("This collection is empty");
    expect(after).not.toMatch(/No matches|`/);
    await shot(page, "browse-desktop-empty-after-search");
    await page.close();
  });

  it("phone: placeholder fits, the text box keeps its width after an image query, the index hint shows, no Ctrl+V wording; viewer", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await page.goto(base);
    await page.locator(".state-welcome").waitFor();
    const fits = (): Promise<boolean> =>
      page.evaluate(() => {
        const q = document.querySelector<HTMLInputElement>("#q")!;
        const ctx = document.createElement("canvas").getContext("2d")!;
        const cs = getComputedStyle(q);
        ctx.font = `${cs.fontSize} ${cs.fontFamily}`;
        const pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight);
        return ctx.measureText(q.placeholder).width <= q.clientWidth - pad + 1;
      });
    expect(await fits()).toBe(true);
    expect(await page.locator(".state-welcome").innerText()).not.toContain("Ctrl+V");
    expect(await page.locator("#index-hint").isVisible()).toBe(true);
    await shot(page, "browse-phone-welcome");

    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/v1/search/image")), page.locator("#file").setInputFiles(imgs[2].file)]);
    await settled(page);
    expect(await fits()).toBe(true);
    expect(await page.locator("#q").evaluate((q) => q.clientWidth)).toBeGreaterThanOrEqual(100);
    // Nothing wider than the screen (card actions, option selectors, downloads).
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await shot(page, "browse-phone-image-query");

    await page.locator(".card .view-button").first().click();
    await page.locator("#lightbox").waitFor({ state: "visible" });
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>("#lightbox .lightbox-img")?.naturalWidth ?? 0) > 0);
    await shot(page, "browse-phone-viewer");
    await page.close();
  });
});
