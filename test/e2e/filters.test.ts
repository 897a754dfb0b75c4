/**
 * Browser test of the filter panel, the sort control and the near-duplicates dialog (issue 12):
 * `clipdb serve` as a child process over real COCO photos given EXIF dates and cameras with sharp
 * (and a re-encoded copy of one), driven in Debian's Chromium with playwright-core. Screenshots go
 * to test-artifacts/.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages } from "../server/helpers.js";
import { ARTIFACTS, launchBrowser, openPage, prepareUi, searchText, serve, settled, stopServers } from "./harness.js";

/** id → [date taken, camera]; "plain" has no EXIF. */
const PHOTOS: Record<string, [string, string] | null> = {
  "p2018.jpg": ["2018:06:01 10:00:00", "Canon"],
  "p2020.jpg": ["2020:03:04 05:06:07", "NIKON CORPORATION"],
  "p2022.jpg": ["2022:12:31 23:00:00", "Canon"],
  "p2023.jpg": ["2023:01:15 12:00:00", "SONY"],
  "plain.jpg": null,
};
const COPY = "p2020-copy.jpg";

let tmp: string;
let base: string;
let browser: Browser;

const ids = (page: Page): Promise<string[]> => page.locator("#results .card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-id") ?? ""));

beforeAll(async () => {
  prepareUi();
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-e2e-filters-"));
  const imgs = cocoImages(5, { landscape: true });
  const inputs = [];
  for (const [i, [id, exif]] of Object.entries(PHOTOS).entries()) {
    const file = path.join(tmp, id);
    const p = sharp(imgs[i].file);
    await (exif ? p.withExif({ IFD0: { Make: exif[1], Model: "X" }, IFD2: { DateTimeOriginal: exif[0] } }) : p).jpeg({ quality: 90 }).toFile(file);
    inputs.push({ path: file, id });
  }
  await sharp(path.join(tmp, "p2020.jpg")).resize(320).jpeg({ quality: 60 }).toFile(path.join(tmp, COPY));
  inputs.push({ path: path.join(tmp, COPY), id: COPY });
  const col = await Collection.open(path.join(tmp, "db"), { model: testModelDir(), offline: true, create: true });
  expect((await col.addImages(inputs)).failed).toBe(0);
  await col.close();

  base = (await serve(path.join(tmp, "db"), ["--model", testModelDir()])).base;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopServers();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("filters, sort and duplicates in Chromium", () => {
  it("filters by date and camera, sorts by date, keeps it all in the URL, and shows an image's duplicates", async () => {
    const { page, errors } = await openPage(browser, { width: 1280, height: 900 });
    await page.goto(base);
    await searchText(page, "a photo", "all");
    expect((await ids(page)).sort()).toEqual([...Object.keys(PHOTOS), COPY].sort());

    // The panel: date from, then a camera, then newest first.
    await page.locator("#filters summary").click();
    await page.locator("#f-from").fill("2020-01-01");
    await page.locator("#f-from").dispatchEvent("change");
    await settled(page, "all");
    expect((await ids(page)).sort()).toEqual(["p2020.jpg", "p2022.jpg", "p2023.jpg"]); // the copy lost its EXIF
    expect(new URL(page.url()).searchParams.get("from")).toBe("2020-01-01");
    await page.locator("#f-camera").fill("canon, NIKON corporation"); // as typed; matched as clipdb records makers
    await page.locator("#f-camera").dispatchEvent("change");
    await settled(page, "all");
    expect((await ids(page)).sort()).toEqual(["p2020.jpg", "p2022.jpg"]);
    await page.locator("#f-sort").selectOption("-taken");
    await settled(page, "all");
    expect(await ids(page)).toEqual(["p2022.jpg", "p2020.jpg"]);
    expect(await page.locator("#filters .filter-count").innerText()).toBe("2");
    await page.screenshot({ path: path.join(ARTIFACTS, "ui-filters.png") });

    // The URL holds the filters: a reload restores the panel and the same results.
    const url = new URL(page.url());
    expect([url.searchParams.get("camera"), url.searchParams.get("sort")]).toEqual(["canon, NIKON corporation", "-taken"]);
    await page.reload();
    await settled(page, "all");
    expect(await ids(page)).toEqual(["p2022.jpg", "p2020.jpg"]);
    expect(await page.locator("#f-camera").inputValue()).toBe("canon, NIKON corporation");
    expect(await page.locator("#filters").getAttribute("open")).not.toBeNull();

    // Oldest first, then clearing brings every photo back, undated last under a date sort.
    await page.locator("#f-sort").selectOption("taken");
    await settled(page, "all");
    expect(await ids(page)).toEqual(["p2020.jpg", "p2022.jpg"]);
    await page.locator(".filter-clear").click();
    await settled(page, "all");
    expect(await ids(page)).toHaveLength(6);
    await page.locator("#f-sort").selectOption("taken");
    await settled(page, "all");
    const order = await ids(page);
    expect(order.slice(0, 4)).toEqual(["p2018.jpg", "p2020.jpg", "p2022.jpg", "p2023.jpg"]);
    expect(order.slice(4).sort()).toEqual([COPY, "plain.jpg"]);

    // Duplicates of a result: the re-encoded copy, in a dialog that Escape closes.
    const card = page.locator('#results .card[data-id="p2020.jpg"]');
    await card.hover();
    await card.locator(".dupes-button").click();
    await page.waitForFunction(() => document.querySelector("#dupes .dupes-grid")?.getAttribute("aria-busy") === "false");
    await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete));
    expect(await page.locator("#dupes .dupe").evaluateAll((fs) => fs.map((f) => f.getAttribute("data-id")))).toEqual([COPY]);
    await page.screenshot({ path: path.join(ARTIFACTS, "ui-duplicates.png") });
    await page.keyboard.press("Escape");
    await expect.poll(() => page.locator("#dupes").evaluate((d) => (d as HTMLDialogElement).open)).toBe(false);
    const lone = page.locator('#results .card[data-id="p2023.jpg"]');
    await lone.hover();
    await lone.locator(".dupes-button").click();
    await page.waitForFunction(() => document.querySelector("#dupes .dupes-grid")?.getAttribute("aria-busy") === "false");
    expect(await page.locator("#dupes p").innerText()).toMatch(/No near-duplicates/);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
