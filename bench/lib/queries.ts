/**
 * Child process of bench/lib/stream.ts: opens one saved index in a fresh process, answers the
 * queries at each (nprobe, refine) setting, and reports open time, latencies, recall@k against the
 * ground truth and the process's resident memory (current and peak, from /proc/self/status), so
 * "the whole process" is measured, not the index alone.
 * Usage: tsx bench/lib/queries.ts <index-file> <queries.f32> <truth.u32> <truth-scores.f32> <k> <nprobes,...> <refines,...>
 * (nprobes/refines "-" for an index without them). Prints one JSON line.
 */
import fs from "node:fs";
import { procRssMb, quantile } from "./stats.js";

const [file, qfile, tfile, sfile, kArg, nprobesArg, refinesArg] = process.argv.slice(2);
const k = Number(kArg);
const f32 = (p: string): Float32Array => {
  const b = fs.readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const qs = f32(qfile);
const tb = fs.readFileSync(tfile);
const truth = new Uint32Array(tb.buffer.slice(tb.byteOffset, tb.byteOffset + tb.byteLength));
const truthScores = f32(sfile);
const nq = truth.length / k;
const dim = qs.length / nq;
const list = (s: string): (number | undefined)[] => (s === "-" ? [undefined] : s.split(",").map(Number));

const { loadIndex } = await import("../../src/index/index.js");
const t0 = performance.now();
const idx = await loadIndex(file);
const openMs = performance.now() - t0;
const q = (i: number): Float32Array => qs.slice(i * dim, (i + 1) * dim);
const t1 = performance.now();
idx.search(q(0), k, {});
const firstMs = performance.now() - t1;
const afterOpen = procRssMb();
const rows: { nprobe?: number; refine?: number; p50: number; p99: number; qps: number; recall: number; identical: boolean; reads: number }[] = [];
const reads = (): number => (idx as { vectorReads?: number }).vectorReads ?? 0;
for (const nprobe of list(nprobesArg)) {
  for (const refine of list(refinesArg)) {
    const opts = { ...(nprobe === undefined ? {} : { nprobe }), ...(refine === undefined ? {} : { refine }) };
    for (let i = 0; i < Math.min(3, nq); i++) idx.search(q(i), k, opts);
    const r0 = reads();
    const lat: number[] = [];
    let hit = 0;
    let same = true;
    const tq = performance.now();
    for (let i = 0; i < nq; i++) {
      const t = performance.now();
      const h = idx.search(q(i), k, opts);
      lat.push(performance.now() - t);
      const want = new Set(truth.subarray(i * k, (i + 1) * k));
      for (const o of h.offsets) if (want.has(o)) hit++;
      for (let j = 0; j < k; j++) {
        const ts = truthScores[i * k + j];
        if (!(Math.abs(h.scores[j] - ts) < 1e-5 && (h.offsets[j] === truth[i * k + j] || h.scores[j] === ts))) same = false;
      }
    }
    rows.push({ nprobe, refine, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), qps: (nq / (performance.now() - tq)) * 1000, recall: hit / (nq * k), identical: same, reads: (reads() - r0) / nq });
  }
}
const end = procRssMb();
console.log(JSON.stringify({ open_ms: openMs, first_query_ms: firstMs, size: idx.size, resident_bytes: (idx as { residentBytes?: number }).residentBytes ?? NaN, rss_after_open_mb: afterOpen.now, rss_mb: end.now, peak_rss_mb: end.peak, rows }));
