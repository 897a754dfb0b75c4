/** k-means used by IVF training: determinism, spherical centroids, empty clusters, bad input. */
import { describe, expect, it } from "vitest";
import { kmeans, nearestRows } from "../../src/index/index.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

const DIM = 64;
const { xs, centers } = syntheticClusters({ n: 3000, dim: DIM, clusters: 8, seed: 3, spread: 0.5 });

describe("kmeans", () => {
  it("is deterministic for a seed and returns unit-norm centroids", () => {
    const a = kmeans(xs, DIM, 8, { seed: 9 });
    const b = kmeans(xs, DIM, 8, { seed: 9 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    expect(a.sizes.reduce((s, x) => s + x, 0)).toBe(3000);
    for (let j = 0; j < 8; j++) {
      let ss = 0;
      for (let t = 0; t < DIM; t++) ss += a.centroids[j * DIM + t] ** 2;
      expect(ss).toBeCloseTo(1, 5);
    }
  });

  it("recovers well-separated clusters: every true centre has a centroid with cosine > 0.95", () => {
    const { centroids } = kmeans(xs, DIM, 8, { seed: 1 });
    const best = nearestRows(centroids, 8, DIM, centers, 8, 1);
    for (let c = 0; c < 8; c++) {
      let ip = 0;
      for (let t = 0; t < DIM; t++) ip += centers[c * DIM + t] * centroids[best[c] * DIM + t];
      expect(ip).toBeGreaterThan(0.95);
    }
  });

  it("fills empty clusters by splitting large ones (no NaN, every list used)", () => {
    // 3 distinct points, repeated: most of the 6 clusters start or end empty.
    const pts = new Float32Array(300 * DIM);
    for (let i = 0; i < 300; i++) pts[i * DIM + (i % 3)] = 1;
    const r = kmeans(pts, DIM, 6, { seed: 2 });
    expect(r.centroids.every((v) => Number.isFinite(v))).toBe(true);
    expect(r.sizes.reduce((s, x) => s + x, 0)).toBe(300);
  });

  it("needs at least k training vectors (INVALID_ARGUMENT)", () => {
    expect(() => kmeans(xs.subarray(0, 4 * DIM), DIM, 8)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("trains on a seeded sample of at most maxPoints vectors", () => {
    expect(kmeans(xs, DIM, 8, { maxPoints: 500 }).points).toBe(500);
  });
});
