import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/index/kmeans.js";
import { adapterLoss, applyAdapter, firstHitRanks, holdOutImages, pairedBootstrapR1, trainAdapter, type Adapter, type ContrastiveSet } from "../../src/query/adapter.js";

function unitRows(n: number, dim: number, rand: () => number): Float32Array {
  const xs = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += (xs[i * dim + c] = rand() - 0.5) ** 2;
    for (let c = 0; c < dim; c++) xs[i * dim + c] /= Math.sqrt(ss);
  }
  return xs;
}

/** Queries that are a fixed linear distortion of their targets (plus noise): a map exists to learn. */
function distorted(n: number, dim: number, seed: number): ContrastiveSet {
  const rand = seededRandom(seed);
  const x = unitRows(n, dim, rand);
  const q = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let c = 0; c < dim; c++) {
      // Swap the first two coordinates' roles and damp the rest: CLIP-like "modality gap" distortion.
      const src = c === 0 ? 1 : c === 1 ? 0 : c;
      const val = x[i * dim + src] * (c < 4 ? 1 : 0.3) + (rand() - 0.5) * 0.15;
      q[i * dim + c] = val;
      ss += val * val;
    }
    for (let c = 0; c < dim; c++) q[i * dim + c] /= Math.sqrt(ss);
  }
  return { q, x, positives: [...Array(n).keys()].map((i) => [i]) };
}

describe("query adapters", () => {
  it("the analytic gradient of the InfoNCE loss matches finite differences", () => {
    const rand = seededRandom(3);
    const dim = 6;
    const rank = 3;
    const set: ContrastiveSet = { q: unitRows(5, dim, rand), x: unitRows(7, dim, rand), positives: [[0], [1, 2], [3], [], [6]] };
    const a: Adapter = { dim, rank, u: Float32Array.from({ length: dim * rank }, () => rand() - 0.5), v: Float32Array.from({ length: dim * rank }, () => rand() - 0.5) };
    const { du, dv } = adapterLoss(a, set, 0.2);
    const h = 1e-3;
    for (const [which, grad] of [["u", du], ["v", dv]] as const) {
      for (let k = 0; k < dim * rank; k++) {
        const plus = { ...a, [which]: Float32Array.from(a[which]) };
        const minus = { ...a, [which]: Float32Array.from(a[which]) };
        plus[which][k] += h;
        minus[which][k] -= h;
        const fd = (adapterLoss(plus, set, 0.2).loss - adapterLoss(minus, set, 0.2).loss) / (2 * h);
        expect(Math.abs(fd - grad[k])).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it("training from the identity lowers the held-out loss and ranks held-out queries better", () => {
    const dim = 16;
    const all = distorted(300, dim, 7);
    const take = (from: number, to: number): ContrastiveSet => ({
      q: all.q.slice(from * dim, to * dim),
      x: all.x.slice(from * dim, to * dim),
      positives: [...Array(to - from).keys()].map((i) => [i]),
    });
    const fit = take(0, 200);
    const val = take(200, 250);
    const test = take(250, 300);
    const { adapter, report } = trainAdapter(dim, fit, val, { rank: 4, steps: 300 });
    expect(report.valLoss).toBeLessThan(report.valLoss0);
    expect(report.bestStep).toBeGreaterThan(0);
    const before = firstHitRanks(test.q, test.x, dim, test.positives);
    const after = firstHitRanks(applyAdapter(adapter, test.q), test.x, dim, test.positives);
    const r1 = (r: Int32Array) => r.filter((x) => x === 0).length / r.length;
    expect(r1(after)).toBeGreaterThan(r1(before));
    const ci = pairedBootstrapR1(before, after);
    expect(ci.lo).toBeLessThanOrEqual(ci.delta);
    expect(ci.hi).toBeGreaterThanOrEqual(ci.delta);
  });

  it("the identity adapter (U = 0) leaves queries as they are", () => {
    const rand = seededRandom(5);
    const q = unitRows(4, 8, rand);
    const out = applyAdapter({ dim: 8, rank: 2, u: new Float32Array(16), v: Float32Array.from({ length: 16 }, () => rand()) }, q);
    out.forEach((x, i) => expect(x).toBeCloseTo(q[i], 6));
  });

  it("a paired bootstrap of identical rankings is exactly zero", () => {
    const r = Int32Array.from([0, 1, 0, 4, 0]);
    expect(pairedBootstrapR1(r, r)).toMatchObject({ delta: 0, lo: 0, hi: 0 });
  });

  it("the held-out split is seeded, by image, and never empty on either side", () => {
    const images = [5, 5, 6, 7, 8, 9, 9, 10, 11, 12, 13, 14];
    const a = holdOutImages(images, 0.2, 1);
    expect(holdOutImages(images, 0.2, 1)).toEqual(a);
    expect(a.size).toBe(2); // 20% of 10 distinct images
    expect(holdOutImages([1, 2], 0.01, 1).size).toBe(1);
    expect(holdOutImages([1, 2], 0.99, 1).size).toBe(1);
    expect(() => holdOutImages(images, 1, 1)).toThrow(/holdout/);
  });
});

describe("runAdapt", () => {
  it("never trains on held-out pairs: changing every held-out vector leaves the adapter bit for bit the same", async () => {
    const { runAdapt } = await import("../../src/query/adapt-run.js");
    const dim = 12;
    const set = distorted(120, dim, 11);
    const io = Uint32Array.from({ length: 120 }, (_, i) => i);
    const to = Uint32Array.from({ length: 120 }, (_, i) => 1000 + i);
    const data = (q: Float32Array, x: Float32Array) => ({ dim, pairs: { image: io, text: to }, gallery: { image: { offsets: io, xs: x }, text: { offsets: to, xs: q } } });
    const opts = { rank: 3, steps: 40, minGain: -Infinity, holdout: 0.25, seed: 4 };
    const a = runAdapt(data(set.q, set.x), opts);
    expect(a.heldOut).toHaveLength(30);
    const q2 = Float32Array.from(set.q);
    const x2 = Float32Array.from(set.x);
    for (const o of a.heldOut) {
      q2.set(q2.subarray(((o + 1) % 120) * dim, (((o + 1) % 120) + 1) * dim).map((v) => -v), o * dim);
      x2.set(x2.subarray(((o + 7) % 120) * dim, (((o + 7) % 120) + 1) * dim).map((v) => -v), o * dim);
    }
    const b = runAdapt(data(q2, x2), opts);
    expect(b.heldOut).toEqual(a.heldOut);
    for (const k of [0, 1]) {
      expect(b.directions[k].adapter!.u).toEqual(a.directions[k].adapter!.u);
      expect(b.directions[k].adapter!.v).toEqual(a.directions[k].adapter!.v);
      expect(b.directions[k].trainPairs).toBe(90);
      expect(b.directions[k].heldOutQueries).toBe(30);
    }
    // ...while the held-out measure does see them.
    expect(b.directions[0].before).not.toEqual(a.directions[0].before);
  });
});
