import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseNpy } from "../../src/core/npy.js";
import { bruteZeroShot, loadCifar } from "../fixtures/cifar.js";
import { Collection } from "../../src/collection/index.js";
import { STORES, location, stopStores } from "../fixtures/stores.js";

const DATA = resolve(__dirname, "../../../shared/data");
let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-eval-"))));
afterAll(async () => {
  await stopStores();
  rmSync(tmp, { recursive: true, force: true });
});

describe.each(STORES)("eval on a hand-computed six-item collection (%s)", (store) => {
  it("gives the R@K and hit@k worked out by hand", async () => {
    const col = await Collection.open(await location(store, tmp, "six"));
    await col.addVectors({ vectors: Float32Array.from([1, 0, 0, 0, 1, 0]), dim: 3, ids: ["i0", "i1"], modality: "image" });
    await col.addVectors({
      vectors: Float32Array.from([0.9, 0.1, 0.2, 0.2, 0.8, 0.3, 0.1, 0.7, 0.5, 0.6, 0.5, 0.1]),
      dim: 3,
      ids: ["t0", "t1", "t2", "t3"],
      modality: "text",
      pairIds: ["i0", "i0", "i1", "i1"],
    });
    const r = await col.evaluate({ indexes: ["exact"], ks: [1, 2], hitKs: [1, 2, 3] });
    // t2i: t0->i0 ok, t1->i1 first (i0 second), t2->i1 ok, t3->i0 first (i1 second).
    expect(r.t2i!.exact).toMatchObject({ "R@1": 0.5, "R@2": 1, "hit@1": 0.5, "hit@2": 1, "hit@3": 1 });
    // i2t: i0 ranks t0 .971, t3 .762, t1 .228, t2 .115 (truth t0, t1); i1 ranks t1 .912, t2 .808, t3 .635, t0 .108 (truth t2, t3).
    expect(r.i2t!.exact).toMatchObject({ "R@1": 0.5, "R@2": 1, "hit@1": 0.25, "hit@2": 0.5, "hit@3": 1 });
    expect(r).toMatchObject({ n_images: 2, n_texts: 4, dim: 3 });
    await col.close();
  });
});

describe.each(STORES)("eval on real CLIP vectors (%s)", (store) => {
  it("reproduces the brute-force Flickr30k ViT-L/14 figures exactly", async () => {
    const col = await Collection.open(await location(store, tmp, "f30k"));
    const img = parseNpy(readFileSync(join(DATA, "flickr30k-clip-l14-500", "image.npy")));
    const txt = parseNpy(readFileSync(join(DATA, "flickr30k-clip-l14-500", "text.npy")));
    const ids = Array.from({ length: img.rows }, (_, i) => `img${i}`);
    await col.addVectors({ vectors: img.data, dim: img.dim, ids, modality: "image", modelId: "openai/clip-vit-large-patch14" });
    await col.addVectors({ vectors: txt.data, dim: txt.dim, ids: ids.map((_, i) => `txt${i}`), modality: "text", pairIds: ids, modelId: "openai/clip-vit-large-patch14" });
    const r = await col.evaluate({ indexes: ["exact"] });
    expect(r.t2i!.exact).toMatchObject({ "R@1": 0.792, "R@5": 0.964, "R@10": 0.98 });
    expect(r.i2t!.exact).toMatchObject({ "R@1": 0.81, "R@5": 0.966, "R@10": 0.988 });
    // Exact eval equals search run query by query.
    let hits1 = 0;
    for (let i = 0; i < txt.rows; i++) {
      const res = await col.search({ item: `txt${i}` }, { k: 1, modality: "image" });
      if (res.results[0].id === `img${i}`) hits1++;
    }
    expect(hits1 / txt.rows).toBe(r.t2i!.exact["R@1"]);
    await col.close();
  }, 120_000);

  it("gives the brute-force CIFAR-10 zero-shot accuracy as exact i2t R@1", async () => {
    const c = loadCifar();
    const brute = bruteZeroShot(c);
    expect(brute).toBeCloseTo(0.703, 3);
    const col = await Collection.open(await location(store, tmp, "cifar"));
    await col.addVectors({ vectors: c.vision.data, dim: c.vision.dim, ids: c.ids, modality: "image" });
    await col.addVectors({ vectors: c.classRows, dim: c.text.dim, ids: c.classes, modality: "text" });
    await col.addPairs(c.ids.map((id, i) => ({ imageId: id, textId: c.classes[c.labels[i]] })));
    const r = await col.evaluate({ indexes: ["exact"], directions: ["i2t"], ks: [1], hitKs: [1] });
    expect(r.i2t!.exact["R@1"]).toBe(Math.round(brute * 1e4) / 1e4);
    await col.close();
  }, 120_000);

  it("measures the built index kinds of the store (pgvector's on Postgres), in memory the others, and says which", async () => {
    const col = await Collection.open(await location(store, tmp, "kinds"));
    const img = parseNpy(readFileSync(join(DATA, "flickr30k-clip-l14-500", "image.npy")));
    const txt = parseNpy(readFileSync(join(DATA, "flickr30k-clip-l14-500", "text.npy")));
    const ids = Array.from({ length: img.rows }, (_, i) => `img${i}`);
    await col.addVectors({ vectors: img.data, dim: img.dim, ids, modality: "image" });
    await col.addVectors({ vectors: txt.data, dim: txt.dim, ids: ids.map((_, i) => `txt${i}`), modality: "text", pairIds: ids });
    await col.buildIndex({ type: "hnsw" });
    const r = await col.evaluate({ indexes: ["exact", "hnsw", "ivf"], efs: [16, 200], nprobes: [4] }, { nlist: 16 });
    const kind = store === "postgres" ? "pgvector-hnsw" : "hnsw";
    if (store === "postgres") expect(r.notes).toContain(`hnsw: ${kind}, the index on the Postgres server (image:HNSW16, text:HNSW16); each query a round trip`);
    else expect(r.notes.join("\n")).not.toMatch(/hnsw/);
    expect(r.notes.find((x) => x.startsWith("ivf not built"))).toMatch(/built in memory for this run \(image:IVF16,Flat,route=query, text:IVF16,Flat,route=query\)/);
    for (const dir of ["t2i", "i2t"] as const) {
      const d = r[dir]!;
      expect((d.hnsw as { ef: number }[]).map((x) => x.ef)).toEqual([16, 200]);
      expect((d.ivf as { nprobe: number }[]).map((x) => x.nprobe)).toEqual([4]);
      // clipdb's IVF reports its resident bytes per vector (float32 lists: more than 4 * dim); pgvector's does not.
      if (store === "sqlite") expect((d.ivf as Record<string, number>[])[0].bytes_per_vector).toBeGreaterThan(r.dim! * 4);
      // A wide HNSW search finds what exact finds; a narrow one does not beat it.
      const [narrow, wide] = d.hnsw as Record<string, number>[];
      expect(wide["recall_vs_exact@10"]).toBeGreaterThan(0.97);
      expect(narrow["recall_vs_exact@10"]).toBeLessThanOrEqual(wide["recall_vs_exact@10"]);
      expect(wide["R@10"]).toBeCloseTo(d.exact["R@10"], 1);
    }
    await col.close();
  }, 180_000);
});
