import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseNpy } from "../../src/core/npy.js";
import { bruteZeroShot, loadCifar } from "../fixtures/cifar.js";
import { Collection } from "../../src/collection/index.js";

const DATA = resolve(__dirname, "../../../shared/data");
let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-eval-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("eval on a hand-computed six-item collection", () => {
  it("gives the R@K and hit@k worked out by hand", async () => {
    const col = await Collection.open(join(tmp, "six"));
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

describe("eval on real CLIP vectors", () => {
  it("reproduces the brute-force Flickr30k ViT-L/14 figures exactly", async () => {
    const col = await Collection.open(join(tmp, "f30k"));
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
  });

  it("gives the brute-force CIFAR-10 zero-shot accuracy as exact i2t R@1", async () => {
    const c = loadCifar();
    const brute = bruteZeroShot(c);
    expect(brute).toBeCloseTo(0.703, 3);
    const col = await Collection.open(join(tmp, "cifar"));
    await col.addVectors({ vectors: c.vision.data, dim: c.vision.dim, ids: c.ids, modality: "image" });
    await col.addVectors({ vectors: c.classRows, dim: c.text.dim, ids: c.classes, modality: "text" });
    await col.addPairs(c.ids.map((id, i) => ({ imageId: id, textId: c.classes[c.labels[i]] })));
    const r = await col.evaluate({ indexes: ["exact"], directions: ["i2t"], ks: [1], hitKs: [1] });
    expect(r.i2t!.exact["R@1"]).toBe(Math.round(brute * 1e4) / 1e4);
    await col.close();
  });
});
