/**
 * Browser end-to-end test: builds the web UI, starts `clipdb serve` as a real child process on a free
 * loopback port over a temporary collection of real COCO images (embedded with the generated test
 * model), and drives Debian's Chromium with playwright-core. Screenshots go to test-artifacts/.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages } from "../server/helpers.js";
import { ARTIFACTS, clickSimilar, launchBrowser, openPage, prepareUi, searchText, serve, settled, stopServers } from "./harness.js";

const ROTATED_ID = "uploads/exif6.jpg";

let tmp: string;
let base: string;
let browser: Browser;
let rotatedJpeg: string;


async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

beforeAll(async () => {
  prepareUi();

  const modelDir = await testModelDir();
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-e2e-"));
  const db = path.join(tmp, "db");
  // A real photo stored sideways, as cameras do: portrait pixels (a landscape COCO photo turned 90°
  // counter-clockwise) with EXIF orientation 6, "rotate 90° clockwise to view". Upright, it is landscape.
  const land = cocoImages(1, { landscape: true, skip: 3 })[0];
  rotatedJpeg = path.join(tmp, "exif6.jpg");
  const sideways = await sharp(land.file).rotate(270).toBuffer();
  writeFileSync(rotatedJpeg, await sharp(sideways).withMetadata({ orientation: 6 }).jpeg({ quality: 88 }).toBuffer());
  const stored = await sharp(rotatedJpeg).metadata();
  expect([stored.orientation, stored.height! > stored.width!]).toEqual([6, true]);

  const col = await Collection.open(db, { model: modelDir, offline: true });
  const imgs = cocoImages(16);
  const sum = await col.addImages([
    ...imgs.map((img) => ({ path: img.file, id: `coco/${img.name}`, captions: img.captions })),
    { path: rotatedJpeg, id: ROTATED_ID, captions: land.captions },
  ]);
  expect(sum.failed).toBe(0);
  await col.close();

  base = (await serve(db, ["--model", modelDir])).base;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stopServers();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("web UI in Chromium", () => {
  it("desktop: text search, image upload (EXIF 6), paste, item → item, texts, keyboard", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(base);

    // Header stats and the designed first screen.
    await expect.poll(() => page.locator("#stats").innerText()).toContain("17 images");
    await expect.poll(() => page.locator(".state-welcome").count()).toBe(1);
    await shot(page, "ui-desktop-welcome");

    // Type a query, press Enter, see a grid of thumbnails with scores and latency.
    await searchText(page, "a man riding a skateboard", "all");
    expect(await page.locator(".grid .card").count()).toBe(17);
    expect(await page.locator(".grid .card .score").first().innerText()).toMatch(/^-?\d\.\d{3}$/);
    expect(await page.locator("#latency").innerText()).toMatch(/ms · exact · \d+ scanned/);
    expect(new URL(page.url()).searchParams.get("q")).toBe("a man riding a skateboard");
    const thumbsOk = await page.$$eval(".grid .card img", (imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0));
    expect(thumbsOk).toBe(true);
    await shot(page, "ui-desktop-text-search");

    // Upload a real JPEG with EXIF orientation 6: the preview is upright and the photo itself ranks first.
    await page.locator("#file").setInputFiles(rotatedJpeg);
    await page.waitForFunction(() => (document.querySelector("#query-chip-label")?.textContent ?? "").includes("exif6.jpg"));
    await settled(page, "all");
    const preview = await page.locator("#query-chip-img").evaluate((img: HTMLImageElement) => ({ w: img.naturalWidth, h: img.naturalHeight }));
    expect(preview.w).toBeGreaterThan(preview.h);
    await expect.poll(() => page.locator(".grid .card").first().getAttribute("data-id")).toBe(ROTATED_ID);
    const firstThumb = await page.locator(".grid .card img").first().evaluate((img: HTMLImageElement) => ({ w: img.naturalWidth, h: img.naturalHeight }));
    expect(firstThumb.w).toBeGreaterThan(firstThumb.h);
    await shot(page, "ui-desktop-image-search");

    // Paste (Ctrl+V) an image: a paste event carrying a file searches with it.
    const other = cocoImages(1, { skip: 5 })[0];
    const b64 = (await sharp(other.file).jpeg().toBuffer()).toString("base64");
    await page.evaluate((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "pasted.jpg", { type: "image/jpeg" }));
      window.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true }));
    }, b64);
    await page.waitForFunction(() => (document.querySelector("#query-chip-label")?.textContent ?? "").includes("pasted.jpg"));
    await settled(page, "all");
    await expect.poll(() => page.locator(".grid .card").first().getAttribute("data-id")).toBe(`coco/${other.name}`);

    // Drop an image file on the page: same search, from a drag and drop.
    const dropped = cocoImages(1, { skip: 7 })[0];
    const b64drop = (await sharp(dropped.file).jpeg().toBuffer()).toString("base64");
    await page.evaluate((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "dropped.jpg", { type: "image/jpeg" }));
      window.dispatchEvent(new DragEvent("dragenter", { dataTransfer: dt, bubbles: true }));
      window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, b64drop);
    await page.waitForFunction(() => (document.querySelector("#query-chip-label")?.textContent ?? "").includes("dropped.jpg"));
    await settled(page, "all");
    expect(await page.locator("#drop-overlay").isHidden()).toBe(true);
    await expect.poll(() => page.locator(".grid .card").first().getAttribute("data-id")).toBe(`coco/${dropped.name}`);

    // Click a result: item → item search for similar items.
    const targetId = await clickSimilar(page, 1, "all");
    expect(new URL(page.url()).searchParams.get("item")).toBe(targetId);
    expect(await page.locator(".grid .card").count()).toBeGreaterThan(0);
    const similarIds = await page.locator(".grid .card").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")));
    expect(similarIds).not.toContain(targetId);
    await shot(page, "ui-desktop-similar");

    // Each result links to its full image, and copies its id.
    const href = await page.locator(".grid .card a").first().getAttribute("href");
    const full = await page.request.get(new URL(href!, page.url()).toString());
    expect(full.status()).toBe(200);
    expect(full.headers()["content-type"]).toBe("image/jpeg");

    // Texts: a list of captions, each with its paired image's thumbnail.
    await searchText(page, "a plate of food", "all");
    await page.locator("label:has(input[value=text])").click();
    await page.locator(".list .row").first().waitFor();
    await settled(page, "all");
    expect(await page.locator(".list .row .row-text").first().innerText()).not.toBe("");
    expect(await page.locator(".list .row .row-thumb img").count()).toBe(await page.locator(".list .row").count());
    await shot(page, "ui-desktop-texts");

    // Both: images and texts merged by score (two sections when both kinds rank). IVF is offered
    // only once built (it is not here).
    await page.locator("label:has(input[value=any])").click();
    await expect.poll(() => new URL(page.url()).searchParams.get("in")).toBe("any");
    await settled(page, "all");
    expect((await page.locator(".grid .card").count()) + (await page.locator(".list .row").count())).toBe(24);
    expect(await page.locator("input[name=index][value=ivf]").isDisabled()).toBe(true);
    await shot(page, "ui-desktop-both");

    // Keyboard: "/" focuses the search bar, Enter searches, Tab reaches the results.
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("q");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("a bus");
    await page.keyboard.press("Enter");
    await settled(page, "all");
    let reached = false;
    for (let i = 0; i < 25 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => !!document.activeElement?.closest("#results .card, #results .row"));
    }
    expect(reached).toBe(true);
    await shot(page, "ui-desktop-keyboard-focus");

    expect(errors).toEqual([]);
    await page.close();
  });

  it("phone width (390 px): no horizontal overflow, two-column grid", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await page.goto(`${base}/?q=${encodeURIComponent("a cat sitting")}&in=image&k=12`);
    await page.locator(".grid .card").first().waitFor();
    await settled(page, "all");
    expect(await page.locator(".grid .card").count()).toBe(12);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const columns = await page.locator(".grid").evaluate((g) => getComputedStyle(g).gridTemplateColumns.split(" ").length);
    expect(columns).toBe(2);
    await shot(page, "ui-phone-text-search");
    await page.locator("#file").setInputFiles(rotatedJpeg);
    await page.waitForFunction(() => (document.querySelector("#query-chip-label")?.textContent ?? "").includes("exif6.jpg"));
    await settled(page, "all");
    await shot(page, "ui-phone-image-search");
    await page.locator("label:has(input[value=text])").click();
    await page.locator(".list .row").first().waitFor();
    await settled(page, "all");
    await shot(page, "ui-phone-texts");
    await page.close();
  });

  it("shows designed error states", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${base}/?item=${encodeURIComponent("no/such item")}`);
    await page.locator(".state-error").waitFor();
    expect(await page.locator(".state-error h2").innerText()).toBe("Not found");
    expect(await page.locator(".state-error p").innerText()).toContain("no/such item");
    await shot(page, "ui-desktop-error");
    // An upload that is not an image is refused with a readable message.
    await page.locator("#file").setInputFiles({ name: "broken.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not really a jpeg") });
    await page.locator(".state-error h2", { hasText: "This image could not be read" }).waitFor();
    await page.close();
  });
});
