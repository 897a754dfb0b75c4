/** The eval SVG: point labels never overlap one another or a point, and none is cut at an edge. */
import { describe, expect, it } from "vitest";
import { evalPlot } from "../../src/cli/plot.js";
import type { EvalReport } from "../../src/collection/index.js";

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The small (10 px) labels of the SVG as boxes, with the estimate the plot itself documents. */
function labelBoxes(svg: string): Box[] {
  return [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="10"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]) - 10,
    w: m[3].length * 6,
    h: 12,
  }));
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** A report whose IVF and HNSW points crowd together: equal recall at nearly equal latency. */
function crowded(): EvalReport {
  const ivf = [1, 2, 4, 8, 16, 32, 64].map((nprobe, i) => ({ nprobe, ms_p50: 0.2 + i * 0.01, "recall_vs_exact@10": 0.9 + i * 0.005, scanned_frac: nprobe / 64 }));
  const hnsw = [16, 32, 64, 128, 256].map((ef, i) => ({ ef, ms_p50: 0.2 + i * 0.012, "recall_vs_exact@10": 0.9 + i * 0.006 }));
  const dir = { queries: 100, exact: { ms_p50: 0.5 }, ivf, hnsw };
  return { n_images: 1000, n_texts: 5000, dim: 512, t2i: dir, i2t: dir };
}

describe("eval plot", () => {
  it("labels do not overlap and stay inside the picture, also when points crowd", () => {
    // One direction: one row of panels, so all boxes share one coordinate system.
    const svg = evalPlot({ ...crowded(), i2t: undefined });
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const boxes = labelBoxes(svg);
    expect(boxes.length).toBeGreaterThan(5);
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.x + b.w).toBeLessThanOrEqual(width);
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(overlap(boxes[i], boxes[j])).toBe(false);
  });

  it("every point keeps its name as a tooltip, labelled or not", () => {
    const svg = evalPlot(crowded());
    expect((svg.match(/<circle cx="[\d.]+" cy="[\d.]+" r="4" fill="[^"]+"><title>/g) ?? []).length).toBe(2 * (1 + 7 + 5) + 2 * (1 + 7));
  });
});
