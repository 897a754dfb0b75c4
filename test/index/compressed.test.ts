/**
 * The compressed indexes (Flat,SQ8, Flat,F16, IVF,SQ8, IVF,SQ4, IVF,F16, IVF,PQ): exact search on codes
 * must equal a float32 brute force on adversarial data (near-duplicates far below the codes'
 * resolution, exact ties, a skewed set whose later vectors fall outside the trained range, 768-d);
 * reopened and grown indexes stay exact; the float32 vectors are not kept in RAM after a save.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompressedFlatIndex, CompressedIvfIndex, IvfIndex, loadIndex } from "../../src/index/index.js";
import { bruteForce, gaussian, normalizeAll, syntheticClusters, syntheticQueries } from "../fixtures/synthetic.js";

const K = 10;
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-compressed-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rows = (n: number, from = 0): Uint32Array => Uint32Array.from({ length: n }, (_, i) => from + i);
const row = (xs: Float32Array, i: number, dim: number): Float32Array => xs.slice(i * dim, (i + 1) * dim);

/** Same ids as brute force except among exact ties, scores within 1e-5 (the definition). */
function expectExact(got: { offsets: Uint32Array; scores: Float32Array }, xs: Float32Array, n: number, dim: number, q: Float32Array, k = K): void {
  const t = bruteForce(xs, n, dim, q, k);
  expect(got.offsets.length).toBe(t.offsets.length);
  for (let j = 0; j < t.offsets.length; j++) {
    expect(Math.abs(got.scores[j] - t.scores[j])).toBeLessThan(1e-5);
    if (got.offsets[j] !== t.offsets[j]) expect(got.scores[j]).toBe(t.scores[j]);
  }
}

/** 500 base vectors, each followed by 9 copies moved by 1e-3 .. 1e-7 (far below SQ8's step), renormalised. */
function nearDuplicates(dim: number): Float32Array {
  const base = syntheticClusters({ n: 500, dim, clusters: 20, seed: 3 }).xs;
  const g = gaussian(11);
  const xs = new Float32Array(5000 * dim);
  for (let b = 0; b < 500; b++) {
    for (let c = 0; c < 10; c++) {
      const eps = c === 0 ? 0 : 10 ** -(3 + (c % 5));
      for (let t = 0; t < dim; t++) xs[(b * 10 + c) * dim + t] = base[b * dim + t] + eps * g();
    }
  }
  return normalizeAll(xs, dim);
}

/** 90% of the points in one tight cluster, 10% spread over 30 clusters (trained on the tight part only). */
function skewed(dim: number): Float32Array {
  const tight = syntheticClusters({ n: 4500, dim, clusters: 1, seed: 5, spread: 0.05 }).xs;
  const wide = syntheticClusters({ n: 500, dim, clusters: 30, seed: 6, spread: 1.5 }).xs;
  const xs = new Float32Array(5000 * dim);
  xs.set(tight);
  xs.set(wide, tight.length);
  return xs;
}

interface Case {
  name: string;
  dim: number;
  xs: () => Float32Array;
  /** Queries: stored vectors (near-duplicate groups, the tight cluster) and fresh ones. */
  queries: (xs: Float32Array) => Float32Array[];
  /** Rows the SQ8 range is trained on (the rest may fall outside it). */
  trainRows: number;
}

const cases: Case[] = [
  { name: "near-duplicates", dim: 512, xs: () => nearDuplicates(512), queries: (xs) => [0, 10, 2520, 4990, 777].map((i) => row(xs, i, 512)), trainRows: 5000 },
  {
    name: "skewed clusters, vectors outside the trained range",
    dim: 512,
    xs: () => skewed(512),
    queries: (xs) => [...[0, 100, 4600, 4999].map((i) => row(xs, i, 512)), row(syntheticQueries({ n: 500, dim: 512, clusters: 30, seed: 6, nq: 1 }).qs, 0, 512)],
    trainRows: 4500,
  },
  {
    name: "768-d",
    dim: 768,
    xs: () => syntheticClusters({ n: 5000, dim: 768, clusters: 50, seed: 9 }).xs,
    queries: () => Array.from({ length: 5 }, (_, i) => row(syntheticQueries({ n: 5000, dim: 768, clusters: 50, seed: 9, nq: 5 }).qs, i, 768)),
    trainRows: 5000,
  },
];

describe.each(["sq8", "f16"] as const)("Flat,%s exact search on codes", (codec) => {
  it.each(cases)("equals brute force: $name", (c) => {
    const xs = c.xs();
    const n = xs.length / c.dim;
    const idx = new CompressedFlatIndex(c.dim, { codec });
    idx.train(xs.subarray(0, c.trainRows * c.dim));
    idx.add(rows(n), xs);
    for (const q of c.queries(xs)) {
      expectExact(idx.search(q, K), xs, n, c.dim, q);
      expectExact(idx.search(q, 100), xs, n, c.dim, q, 100);
    }
  });

  it("breaks exact ties across the k boundary by smaller offset", () => {
    const dim = 512;
    const { xs } = syntheticClusters({ n: 2000, dim, clusters: 10, seed: 4 });
    const idx = new CompressedFlatIndex(dim, { codec });
    idx.add(rows(2000), xs);
    const v = row(xs, 7, dim);
    const dup = new Float32Array(30 * dim);
    for (let i = 0; i < 30; i++) dup.set(v, i * dim);
    idx.add(Uint32Array.from({ length: 30 }, (_, i) => 5000 + ((i * 7) % 30)), dup);
    const h = idx.search(v, 10);
    expect(Array.from(h.offsets)).toEqual([7, ...Array.from(rows(9, 5000))]);
  });

  it("reopens without the float32 vectors in RAM, grows after reopening, and stays exact through a second save", async () => {
    const dim = 512;
    const { xs } = syntheticClusters({ n: 6000, dim, clusters: 40, seed: 8 });
    const { qs } = syntheticQueries({ n: 6000, dim, clusters: 40, seed: 8, nq: 5 });
    const idx = new CompressedFlatIndex(dim, { codec });
    idx.add(rows(4000), xs.subarray(0, 4000 * dim));
    const before = idx.residentBytes;
    const file = path.join(tmp, `flat-${codec}.idx`);
    await idx.save(file);
    // Saved: the float32 copies are dropped, only the codes and 12 bytes per row stay.
    expect(idx.residentBytes).toBe(4000 * (idx.codec.codeBytes + 12));
    expect(idx.residentBytes).toBeLessThan(before);
    const back = (await loadIndex(file)) as CompressedFlatIndex;
    expect(back).toBeInstanceOf(CompressedFlatIndex);
    expect(back.kind).toBe(codec);
    back.add(rows(2000, 4000), xs.subarray(4000 * dim));
    back.remove(Uint32Array.of(1, 2, 3));
    const live = new Float32Array(xs);
    for (const r of [1, 2, 3]) live.fill(-1 / Math.sqrt(dim), r * dim, (r + 1) * dim); // never the best
    for (let i = 0; i < 5; i++) {
      const q = row(qs, i, dim);
      const h = back.search(q, K);
      expectExact(h, live, 6000, dim, q);
      for (const r of [1, 2, 3]) expect(Array.from(h.offsets)).not.toContain(r);
    }
    const file2 = path.join(tmp, `flat-${codec}-2.idx`);
    await back.save(file2);
    const again = await CompressedFlatIndex.load(file2, { verify: true });
    expect(again.size).toBe(5997);
    for (let i = 0; i < 5; i++) {
      const q = row(qs, i, dim);
      expect(Array.from(again.search(q, K).offsets)).toEqual(Array.from(back.search(q, K).offsets));
      expect(again.vector(4500)).toEqual(row(xs, 4500, dim));
    }
    expect(again.vectorReads).toBeGreaterThan(0);
  });
});

describe.each(["sq8", "sq4", "f16"] as const)("IVF,%s exact within the probed lists", (codec) => {
  it("answers exactly as IVF-Flat at the same nprobe, and as brute force at nprobe = nlist (near-duplicates, skewed)", async () => {
    for (const c of cases.slice(0, 2)) {
      const xs = c.xs();
      const n = xs.length / c.dim;
      const ivf = new IvfIndex({ dim: c.dim, nlist: 32 });
      const comp = new CompressedIvfIndex({ dim: c.dim, nlist: 32, codec });
      ivf.train(xs);
      comp.train(xs);
      ivf.add(rows(n), xs);
      comp.add(rows(n), xs);
      const file = path.join(tmp, `ivf-${codec}.idx`);
      await comp.save(file);
      const back = await CompressedIvfIndex.load(file);
      for (const q of c.queries(xs)) {
        for (const nprobe of [1, 4]) {
          const a = ivf.search(q, K, { nprobe });
          const b = back.search(q, K, { nprobe });
          expect(Array.from(b.offsets)).toEqual(Array.from(a.offsets));
          expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
        }
        expectExact(back.search(q, K, { nprobe: 32 }), xs, n, c.dim, q);
      }
    }
  });
});

describe("IVF,SQ4", () => {
  it("packs two dimensions per byte (odd dimensions too), stays exact at refine 0 and returns true scores with refine", async () => {
    for (const dim of [7, 64]) {
      const { xs } = syntheticClusters({ n: 3000, dim, clusters: 12, seed: 21 });
      const { qs } = syntheticQueries({ n: 3000, dim, clusters: 12, seed: 21, nq: 8 });
      const idx = new CompressedIvfIndex({ dim, nlist: 8, codec: "sq4" });
      expect(idx.codec.codeBytes).toBe(Math.ceil(dim / 2));
      idx.train(xs);
      idx.add(rows(3000), xs);
      const file = path.join(tmp, `ivf-sq4-${dim}.idx`);
      await idx.save(file);
      expect(idx.residentBytes).toBe(3000 * (Math.ceil(dim / 2) + 12) + 8 * dim * 8 + idx.codec.state().length * 4);
      const back = (await loadIndex(file)) as CompressedIvfIndex;
      expect(back.codec.kind).toBe("sq4");
      for (let i = 0; i < 8; i++) {
        const q = row(qs, i, dim);
        expectExact(back.search(q, K, { nprobe: 8 }), xs, 3000, dim, q);
        const refined = back.search(q, K, { nprobe: 8, refine: 4 });
        for (let j = 0; j < K; j++) {
          const o = refined.offsets[j];
          let s = 0;
          for (let t = 0; t < dim; t++) s += xs[o * dim + t] * q[t];
          expect(Math.abs(refined.scores[j] - s)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it("moves unsaved float32 vectors to an unnamed scratch file past spillBytes, and saves them all", async () => {
    const dim = 32;
    const { xs } = syntheticClusters({ n: 4000, dim, clusters: 10, seed: 22 });
    const dir = fs.mkdtempSync(path.join(tmp, "spill-"));
    const idx = new CompressedIvfIndex({ dim, nlist: 4, codec: "sq4", refine: 8, vectors: { spillBytes: 1000 * dim * 4, spillDir: dir } });
    idx.train(xs);
    for (let i0 = 0; i0 < 4000; i0 += 500) idx.add(rows(500, i0), xs.slice(i0 * dim, (i0 + 500) * dim));
    // 3 full tails of 1000 moved out; the last 1000 are in RAM; the scratch file has no name.
    expect(idx.residentBytes).toBeLessThan(4000 * (16 + 12) + 1000 * dim * 4 + 8 * dim * 8 + 1000);
    expect(fs.readdirSync(dir)).toEqual([]);
    const q = row(xs, 2500, dim);
    expect(idx.search(q, 1, { nprobe: 4 }).offsets[0]).toBe(2500);
    const file = path.join(tmp, "ivf-sq4-spill.idx");
    await idx.save(file);
    const back = await CompressedIvfIndex.load(file, { verify: true });
    for (const o of [0, 999, 1000, 2999, 3999]) {
      const hit = back.search(row(xs, o, dim), 1, { nprobe: 4 });
      expect(hit.offsets[0]).toBe(o);
      expect(hit.scores[0]).toBeCloseTo(1, 5);
    }
  });
});

describe("IVF compressed files open lazily", () => {
  const dim = 48;
  const { xs } = syntheticClusters({ n: 5000, dim, clusters: 16, seed: 31 });
  const { qs } = syntheticQueries({ n: 5000, dim, clusters: 16, seed: 31, nq: 6 });

  it("reads a list's codes on first probe, answers as an eager open, and grows, shrinks and saves after it", async () => {
    const idx = new CompressedIvfIndex({ dim, nlist: 16, codec: "sq4", refine: 4 });
    idx.train(xs);
    idx.add(rows(4000), xs.subarray(0, 4000 * dim));
    const file = path.join(tmp, "lazy.idx");
    await idx.save(file);
    const eager = await CompressedIvfIndex.load(file, { lazy: false });
    const lazy = await CompressedIvfIndex.load(file);
    expect(eager.pendingLists).toBe(0);
    expect(lazy.pendingLists).toBe(16);
    const q = row(qs, 0, dim);
    const a = lazy.search(q, K, { nprobe: 2 });
    expect(lazy.pendingLists).toBe(14);
    expect(Array.from(a.offsets)).toEqual(Array.from(eager.search(q, K, { nprobe: 2 }).offsets));
    lazy.add(rows(1000, 4000), xs.subarray(4000 * dim));
    lazy.remove(Uint32Array.of(0, 1, 2));
    eager.add(rows(1000, 4000), xs.subarray(4000 * dim));
    eager.remove(Uint32Array.of(0, 1, 2));
    expect(lazy.size).toBe(4997);
    const again = path.join(tmp, "lazy-again.idx");
    await lazy.save(again);
    expect(lazy.pendingLists).toBe(0);
    const back = await CompressedIvfIndex.load(again, { verify: true });
    for (let i = 0; i < 6; i++) {
      const qi = row(qs, i, dim);
      expect(Array.from(back.search(qi, K, { nprobe: 16 }).offsets)).toEqual(Array.from(eager.search(qi, K, { nprobe: 16 }).offsets));
    }
    expect(back.search(row(xs, 4500, dim), 1, { nprobe: 4 }).offsets[0]).toBe(4500);
  });

  it("a damaged list fails an eager open, and a lazy open at the search that first reads that list, with INDEX_CORRUPT", async () => {
    const idx = new CompressedIvfIndex({ dim, nlist: 8, codec: "sq8" });
    idx.train(xs);
    idx.add(rows(5000), xs);
    const file = path.join(tmp, "lazy-bad.idx");
    await idx.save(file);
    // The codes end where the float32 vectors (at the end of the file) begin; 5000 * 48 code bytes need no padding.
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, "r+");
    const at = size - 5000 * dim * 4 - 1;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x55;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    await expect(CompressedIvfIndex.load(file, { lazy: false })).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringMatching(/checksum mismatch in the codes of list \d/) });
    const lazy = await CompressedIvfIndex.load(file);
    expect(() => lazy.search(row(qs, 0, dim), K, { nprobe: 8 })).toThrow(expect.objectContaining({ code: "INDEX_CORRUPT" }));
  });
});

describe("IVF,PQ", () => {
  const dim = 256;
  const { xs } = syntheticClusters({ n: 6000, dim, clusters: 30, seed: 12 });
  const { qs } = syntheticQueries({ n: 6000, dim, clusters: 30, seed: 12, nq: 10 });

  it("refine returns true inner products; refine 0 returns ADC estimates; reopens without retraining", async () => {
    const idx = new CompressedIvfIndex({ dim, nlist: 16, codec: "pq", m: 32 });
    idx.train(xs);
    idx.add(rows(6000), xs);
    expect(idx.residentBytes).toBeGreaterThan(6000 * dim * 4); // the unsaved float32 vectors are in RAM
    const file = path.join(tmp, "ivf-pq.idx");
    await idx.save(file);
    // Saved: 32 code bytes + 12 per vector, the centroids (coarse and PQ), nothing else.
    expect(idx.residentBytes).toBe(6000 * (32 + 12) + 16 * dim * 8 + idx.codec.state().length * 4);
    const back = (await loadIndex(file)) as CompressedIvfIndex;
    expect(back.m).toBe(32);
    for (let i = 0; i < 10; i++) {
      const q = row(qs, i, dim);
      const approx = back.search(q, K, { nprobe: 16 });
      expect(Array.from(approx.offsets)).toEqual(Array.from(idx.search(q, K, { nprobe: 16 }).offsets));
      const refined = back.search(q, K, { nprobe: 16, refine: 600 });
      // refine 600 * 10 covers every vector: exact
      expectExact(refined, xs, 6000, dim, q);
      const some = back.search(q, K, { nprobe: 4, refine: 4 });
      for (let j = 0; j < K; j++) {
        const o = some.offsets[j];
        let s = 0;
        for (let t = 0; t < dim; t++) s += xs[o * dim + t] * q[t];
        expect(Math.abs(some.scores[j] - s)).toBeLessThan(1e-5);
      }
    }
  });

  it("rejects an m that does not divide the dimension, and add before training", () => {
    expect(() => new CompressedIvfIndex({ dim, nlist: 4, codec: "pq", m: 7 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    const idx = new CompressedIvfIndex({ dim, nlist: 4, codec: "pq", m: 8 });
    expect(() => idx.add(rows(1), row(xs, 0, dim))).toThrow(expect.objectContaining({ code: "INDEX_NOT_TRAINED" }));
  });
});
