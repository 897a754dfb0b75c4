/**
 * Metadata captured at ingest, typed `where` filters and `sort` (issue 12), through the library:
 * EXIF written with sharp into copies of real COCO images and read back; filtered search keeps
 * returning k results on exact, IVF and HNSW (SQLite) and on pgvector HNSW and IVFFlat (Postgres
 * over PGlite), every hit passing the filter; a key no item has gives a hint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { Collection } from "../../src/collection/index.js";
import { type PgServer, startPgServer } from "../../scripts/lib/pg-server.js";
import { sharedDataDir, testModelDir } from "../fixtures/model.js";
import { syntheticClusters, syntheticQueries } from "../fixtures/synthetic.js";

const COCO = join(sharedDataDir(), "coco-val2017-sample", "images");
const FILES = readdirSync(COCO).sort();
let tmp: string;
let pg: PgServer;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-filters-"));
  pg = await startPgServer();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("metadata captured at ingest", () => {
  it("records date taken, camera, size, orientation, GPS, bytes and mtime, filters and sorts by them", async () => {
    const dir = join(tmp, "imgs");
    mkdirSync(dir);
    const exif = (make: string, model: string, date: string) => ({ IFD0: { Make: make, Model: model }, IFD2: { DateTimeOriginal: date } });
    await sharp(join(COCO, FILES[0])).withExif(exif("Canon", "Canon EOS 5D", "2019:05:03 14:22:10")).jpeg().toFile(join(dir, "canon.jpg"));
    await sharp(join(COCO, FILES[1]))
      .withExif({ ...exif("NIKON CORPORATION", "NIKON D750", "2021:07:01 08:00:00"), IFD3: { GPSLatitudeRef: "S", GPSLatitude: "33/1 52/1 0/1", GPSLongitudeRef: "E", GPSLongitude: "151/1 12/1 36/1" } })
      .jpeg()
      .toFile(join(dir, "nikon.jpg"));
    // Stored sideways with orientation 6: upright it is taller than wide.
    const m2 = await sharp(join(COCO, FILES[2])).metadata();
    await sharp(join(COCO, FILES[2])).rotate(270).withMetadata({ orientation: 6 }).jpeg().toFile(join(dir, "rotated.jpg"));
    await sharp(join(COCO, FILES[3])).jpeg().toFile(join(dir, "plain.jpg"));

    const col = await Collection.open(join(tmp, "meta-db"), { model: testModelDir(), create: true });
    const names = ["canon.jpg", "nikon.jpg", "rotated.jpg", "plain.jpg"];
    const sum = await col.addImages(names.map((n) => ({ path: join(dir, n), id: n, meta: n === "plain.jpg" ? { camera: "Mine" } : undefined })));
    expect(sum.added).toBe(4);

    const canon = (await col.get("canon.jpg"))!.meta;
    expect(canon).toMatchObject({ taken: "2019-05-03T14:22:10", camera: "Canon", cameraModel: "Canon EOS 5D", width: 640 });
    expect(canon.phash).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof canon.bytes).toBe("number");
    expect(new Date(canon.mtime as string).toISOString()).toBe(canon.mtime);
    const nikon = (await col.get("nikon.jpg"))!.meta;
    expect(nikon).toMatchObject({ camera: "Nikon", taken: "2021-07-01T08:00:00" });
    expect(nikon.lat).toBeCloseTo(-33.866667, 5);
    expect(nikon.lon).toBeCloseTo(151.21, 5);
    const rotated = (await col.get("rotated.jpg"))!.meta;
    expect(rotated).toMatchObject({ orientation: 6, width: m2.width, height: m2.height });
    expect(rotated.taken).toBeUndefined();
    expect((await col.get("plain.jpg"))!.meta.camera).toBe("Mine"); // the user's metadata wins

    const ids = async (params: Parameters<Collection["search"]>[1]) => (await col.search({ text: "a photo" }, { k: 10, modality: "image", ...params })).results.map((r) => r.id);
    expect(await ids({ where: ["taken>=2020-01-01"] })).toEqual(["nikon.jpg"]);
    expect((await ids({ where: ["taken>=2019-01-01", "taken<=2021-07-01"] })).sort()).toEqual(["canon.jpg", "nikon.jpg"]);
    expect((await ids({ where: ["camera in (Canon, Nikon)"] })).sort()).toEqual(["canon.jpg", "nikon.jpg"]);
    expect((await ids({ where: [{ key: "lat", op: "<", value: 0 }] }))).toEqual(["nikon.jpg"]);
    expect((await ids({ where: ["orientation=6"] }))).toEqual(["rotated.jpg"]);
    expect(await ids({ sort: "taken" })).toEqual(expect.arrayContaining(["canon.jpg", "nikon.jpg"]));
    const oldest = await col.search({ text: "a photo" }, { k: 10, sort: "taken", modality: "image" });
    expect(oldest.results.slice(0, 2).map((r) => r.id)).toEqual(["canon.jpg", "nikon.jpg"]);
    expect(oldest.results.map((r) => r.rank)).toEqual([1, 2, 3, 4]);
    const newest = await col.search({ text: "a photo" }, { k: 10, sort: "-taken", modality: "image" });
    expect(newest.results.slice(0, 2).map((r) => r.id)).toEqual(["nikon.jpg", "canon.jpg"]);
    // Undated last, in relevance order.
    const byScore = (await col.search({ text: "a photo" }, { k: 10, modality: "image" })).results.filter((r) => !r.meta.taken).map((r) => r.id);
    expect(newest.results.slice(2).map((r) => r.id)).toEqual(byScore);

    const none = await col.search({ text: "a photo" }, { where: ["lang=en"] });
    expect(none.results).toEqual([]);
    expect(none.hint).toMatch(/No item has the metadata key 'lang'/);
    const some = await col.search({ text: "a photo" }, { where: ["camera=Leica"] });
    expect(some.results).toEqual([]);
    expect(some.hint).toBeUndefined(); // the key exists; nothing matched

    for (const bad of ["taken>=2020-02-30", "width<abc", "camera==Canon", "camera ~ Canon", "=x"]) {
      await expect(col.search({ text: "x" }, { where: [bad] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "where" } });
    }
    await expect(col.search({ text: "x" }, { sort: "date" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "sort" } });
    await col.close();
  }, 120_000);
});

/** 12,000 clustered vectors; `bucket` = i % 100, so `bucket < s` keeps s% of them. */
const N = 12_000;
const DIM = 32;
const data = syntheticClusters({ n: N, dim: DIM, clusters: 40, seed: 12 });
const queries = syntheticQueries({ n: N, dim: DIM, clusters: 40, seed: 12, nq: 10 });
const meta = Array.from({ length: N }, (_, i) => ({ bucket: i % 100, taken: `20${10 + (i % 10)}-01-01T00:00:00` }));
const ids = Array.from({ length: N }, (_, i) => `v${i}`);

async function filteredRuns(col: Collection, kinds: ("exact" | "ivf" | "hnsw")[]): Promise<void> {
  const k = 10;
  // 50% (ANN path: more candidates than the exact-filter threshold), 10%, and 0.1% (12 items).
  for (const where of [["bucket<50"], ["bucket<10", "taken>=2011-01-01"], ["bucket in (7)"], ["bucket=0"]]) {
    for (let qi = 0; qi < 3; qi++) {
      const q = queries.qs.slice(qi * DIM, (qi + 1) * DIM);
      const exact = await col.search({ vector: q }, { k, modality: "image", index: "exact", where });
      expect(exact.results).toHaveLength(k);
      for (const kind of kinds) {
        const r = await col.search({ vector: q }, { k, modality: "image", index: kind, where, nprobe: 8, ef: 64 });
        expect(r.results, `${kind} ${where.join(" ")}`).toHaveLength(k);
        for (const h of r.results) {
          const b = Number(h.id.slice(1)) % 100;
          if (where[0] === "bucket<50") expect(b).toBeLessThan(50);
          else if (where[0] === "bucket<10") expect(b < 10 && b !== 0).toBe(true);
          else expect(b).toBe(where[0] === "bucket=0" ? 0 : 7);
        }
        const got = new Set(r.results.map((h) => h.id));
        const recall = exact.results.filter((h) => got.has(h.id)).length / k;
        // Measured: 1.0 on these runs; bench/filter.ts has the recall by selectivity.
        expect(recall, `${kind} ${where.join(" ")}`).toBeGreaterThanOrEqual(0.7);
      }
    }
  }
}

describe("filtered search returns k results when k items pass", () => {
  it("on exact, IVF and HNSW (SQLite)", async () => {
    const col = await Collection.open(join(tmp, "filter-sqlite"), { create: true });
    await col.addVectors({ vectors: data.xs, dim: DIM, ids, modality: "image", meta });
    await col.buildIndex({ type: "ivf", nlist: 64 });
    await col.buildIndex({ type: "hnsw", m: 16 });
    await filteredRuns(col, ["exact", "ivf", "hnsw"]);
    await col.close();
  }, 300_000);

  it("on pgvector HNSW and IVFFlat with iterative scans (Postgres)", async () => {
    const col = await Collection.open(`${pg.url}?schema=filters`, { create: true });
    await col.addVectors({ vectors: data.xs, dim: DIM, ids, modality: "image", meta });
    await col.buildIndex({ type: "hnsw", m: 16 });
    await col.buildIndex({ type: "ivf", nlist: 12 });
    await filteredRuns(col, ["exact", "ivf", "hnsw"]);
    const none = await col.search({ vector: queries.qs.slice(0, DIM) }, { where: ["lang=en"] });
    expect(none.hint).toMatch(/'lang'/);
    await col.close();
  }, 600_000);
});
