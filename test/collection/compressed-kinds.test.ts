/**
 * The compressed IVF kinds (ivf-sq8, ivf-sq4, ivf-pq, ivf-f16) through a collection: built from a spec,
 * reported with bytes per vector, searched, reopened from their files, kept up to date by the
 * delta and compaction, tuned and dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection, buildFromSpec } from "../../src/collection/index.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-compressed-kinds-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DIM = 32;
const N = 12_000;
const { xs } = syntheticClusters({ n: N + 200, dim: DIM, clusters: 30, seed: 21 });
const ids = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `v${from + i}`);

describe("compressed IVF kinds in a collection", () => {
  it("maps spec strings to builds, and refuses exact and unknown ones", () => {
    expect(buildFromSpec("IVF64,PQ8")).toEqual({ type: "ivf-pq", spec: "IVF64,PQ8" });
    expect(buildFromSpec("ivf64,sq8")).toEqual({ type: "ivf-sq8", spec: "ivf64,sq8" });
    expect(buildFromSpec("IVF64,SQ4")).toEqual({ type: "ivf-sq4", spec: "IVF64,SQ4" });
    expect(buildFromSpec("IVF64,Flat,spill2")).toMatchObject({ type: "ivf", nlist: 64, spill: 2 });
    expect(buildFromSpec("HNSW16")).toEqual({ type: "hnsw", m: 16 });
    expect(() => buildFromSpec("Flat,SQ8")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => buildFromSpec("IVF64,PQ")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("builds IVF-PQ from a spec with refine, reports bytes/vector, searches, reopens, compacts, tunes and drops", async () => {
    const dir = join(tmp, "pq");
    let col = await Collection.open(dir);
    await col.addVectors({ vectors: xs.subarray(0, N * DIM), dim: DIM, ids: ids(N), modality: "image" });
    await expect(col.buildIndex({ type: "ivf-pq", spec: "IVF32,SQ8" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "spec" } });
    const built = await col.buildIndex({ type: "ivf-pq", spec: "IVF32,PQ8", refine: 8 });
    expect(built).toMatchObject([{ type: "ivf-pq", kind: "ivf-pq", modality: "image", spec: "IVF32,PQ8,refine8", size: N }]);
    // 8 code bytes + 12 of offset, vector id and radius, plus the centroids: far below float32's 4 * 32 + 4.
    expect(built[0].bytesPerVector).toBeGreaterThan(20);
    expect(built[0].bytesPerVector).toBeLessThan(DIM * 4);
    const q = xs.slice(0, DIM);
    const exact = await col.search({ vector: q }, { k: 10, index: "exact" });
    const pq = await col.search({ vector: q }, { k: 10, index: "ivf-pq", nprobe: 32 });
    expect(pq.index).toBe("ivf-pq");
    const hit = new Set(exact.results.map((r) => r.id));
    expect(pq.results.filter((r) => hit.has(r.id)).length).toBeGreaterThanOrEqual(8);
    // Refined scores are true inner products, the same as exact search gives.
    const byId = new Map(exact.results.map((r) => [r.id, r.score]));
    for (const r of pq.results) if (byId.has(r.id)) expect(r.score).toBeCloseTo(byId.get(r.id)!, 5);
    await col.close();

    col = await Collection.open(dir, { create: false });
    const again = await col.search({ vector: q }, { k: 10, index: "ivf-pq", nprobe: 32 });
    expect(again.results.map((r) => r.id)).toEqual(pq.results.map((r) => r.id));
    await col.addVectors({ vectors: xs.subarray(N * DIM), dim: DIM, ids: ids(200, N), modality: "image" });
    const fresh = xs.slice((N + 5) * DIM, (N + 6) * DIM);
    expect((await col.search({ vector: fresh }, { k: 1, index: "ivf-pq", nprobe: 4 })).results[0].id).toBe(`v${N + 5}`);
    expect(await col.compactIndexes()).toEqual(["ivf-pq:image"]);
    expect((await col.search({ vector: fresh }, { k: 1, index: "ivf-pq", nprobe: 4 })).results[0].id).toBe(`v${N + 5}`);
    const st = await col.indexStatus();
    expect(st).toMatchObject([{ type: "ivf-pq", size: N + 200, pending: 0 }]);
    const tuned = await col.tune(0.9, 50);
    expect(tuned).toMatchObject([{ type: "ivf-pq", param: "nprobe", reached: true }]);
    await col.dropIndex("ivf-pq");
    expect(await col.indexStatus()).toEqual([]);
    await col.close();
  });

  it("ivf-sq8 is exact inside the probed lists: with every list probed it equals exact search", async () => {
    const dir = join(tmp, "sq8");
    const col = await Collection.open(dir);
    await col.addVectors({ vectors: xs.subarray(0, N * DIM), dim: DIM, ids: ids(N), modality: "image" });
    const [st] = await col.buildIndex({ type: "ivf-sq8", nlist: 16 });
    expect(st).toMatchObject({ type: "ivf-sq8", spec: "IVF16,SQ8" });
    expect(st.bytesPerVector).toBeLessThan(DIM + 12 + 1);
    for (let i = 0; i < 5; i++) {
      const q = xs.slice(i * 97 * DIM, (i * 97 + 1) * DIM);
      const exact = await col.search({ vector: q }, { k: 10, index: "exact" });
      const sq8 = await col.search({ vector: q }, { k: 10, index: "ivf-sq8", nprobe: 16 });
      expect(sq8.results.map((r) => [r.id, r.score])).toEqual(exact.results.map((r) => [r.id, r.score]));
    }
    await col.close();
  });

  it("ivf-sq4 is built with a float32 refine of k * 10 by default, in under a third of SQ8's bytes, and returns true scores", async () => {
    const dir = join(tmp, "sq4");
    const col = await Collection.open(dir);
    await col.addVectors({ vectors: xs.subarray(0, N * DIM), dim: DIM, ids: ids(N), modality: "image" });
    const [st] = await col.buildIndex({ type: "ivf-sq4", nlist: 16 });
    expect(st).toMatchObject({ type: "ivf-sq4", spec: "IVF16,SQ4,refine10" });
    expect(st.bytesPerVector).toBeLessThan(DIM / 2 + 12 + 1);
    let found = 0;
    for (let i = 0; i < 5; i++) {
      const q = xs.slice(i * 97 * DIM, (i * 97 + 1) * DIM);
      const exact = await col.search({ vector: q }, { k: 10, index: "exact" });
      const sq4 = await col.search({ vector: q }, { k: 10, index: "ivf-sq4", nprobe: 16 });
      expect(sq4.index).toBe("ivf-sq4");
      const byId = new Map(exact.results.map((r) => [r.id, r.score]));
      for (const r of sq4.results) {
        if (!byId.has(r.id)) continue;
        found++;
        expect(r.score).toBeCloseTo(byId.get(r.id)!, 5);
      }
    }
    expect(found).toBeGreaterThanOrEqual(45);
    await col.close();
  });
});
