/**
 * The streamed path of bench/search.ts, for data sets larger than this machine's RAM (5M x 512 is
 * 10 GB of float32): the data is generated chunk by chunk (`syntheticClustersChunk`: each chunk
 * from its own seed, the same bytes in every pass) and never held whole. Each index is built in a
 * pass of its own: trained on the first chunk, then `add`ed chunk by chunk (a compressed index
 * moves its unsaved float32 vectors to a scratch file, see VectorFile), then saved. The first pass
 * also keeps the exact top-k of every query over the chunks seen so far (usearch's exactSearch per
 * chunk, candidates re-scored in float64), which is the ground truth. Then each saved index is
 * opened in a fresh child process (bench/lib/queries.ts) that answers every query at every setting
 * and reports its open time and the whole process's peak RSS.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { exactSearch, MetricKind } from "usearch";
import { TopK } from "../../src/core/topk.js";
import { CompressedFlatIndex, CompressedIvfIndex } from "../../src/index/index.js";
import { clusterCenters, syntheticClustersChunk, syntheticQueries } from "../../test/fixtures/synthetic.js";
import { procRssMb, round, type Row } from "./stats.js";

/** What the streamed run needs from bench/search.ts's arguments. */
export interface StreamArgs {
  n: number;
  dim: number;
  nq: number;
  k: number;
  nlist: number;
  clusters: number;
  seed: number;
  systems: Set<string>;
  nprobes: number[];
  refines: number[];
  sq4Refines: number[];
  pqM: number;
  /** Rows per generated chunk (the first chunk trains the indexes). */
  chunk: number;
  tmp: string;
  log: (s: string) => void;
}

type Built = CompressedIvfIndex | CompressedFlatIndex;
interface System {
  name: string;
  make: () => Built;
  nprobes: string;
  refines: string;
  param: (nprobe?: number, refine?: number) => string;
  exact: boolean;
}

/** Runs the streamed systems; returns the table rows. */
export async function runStream(a: StreamArgs): Promise<(Row & { nq?: number })[]> {
  const { n, dim, nq, k, nlist, log } = a;
  const data = { dim, clusters: a.clusters, seed: a.seed };
  const centers = clusterCenters(data);
  const { qs } = syntheticQueries({ ...data, n, nq });
  const chunks = Math.ceil(n / a.chunk);
  const csv = (xs: number[]): string => xs.join(",");
  const all: System[] = [
    { name: "clipdb-ivf-sq4", make: () => new CompressedIvfIndex({ dim, nlist, codec: "sq4", refine: 10 }), nprobes: csv(a.nprobes), refines: csv(a.sq4Refines), param: (p, r) => `nlist=${nlist},SQ4,nprobe=${p},refine=${r}`, exact: false },
    { name: "clipdb-ivf-sq8", make: () => new CompressedIvfIndex({ dim, nlist, codec: "sq8" }), nprobes: csv(a.nprobes), refines: "0", param: (p) => `nlist=${nlist},nprobe=${p}, exact in the probed lists`, exact: false },
    { name: "clipdb-ivf-pq", make: () => new CompressedIvfIndex({ dim, nlist, codec: "pq", m: a.pqM, refine: 16 }), nprobes: csv(a.nprobes), refines: csv(a.refines), param: (p, r) => `nlist=${nlist},PQ${a.pqM},nprobe=${p},refine=${r}`, exact: false },
    { name: "clipdb-flat-sq8", make: () => new CompressedFlatIndex(dim, { codec: "sq8" }), nprobes: "-", refines: "-", param: () => "exact, threads=auto", exact: true },
  ];
  const systems = all.filter((s) => a.systems.has(s.name));
  if (systems.length === 0) throw new Error(`the streamed run (n >= 2M) supports ${all.map((s) => s.name).join(", ")}; none was asked for`);
  log(`streamed: ${chunks} chunks of ${a.chunk} rows (each generated from its own seed), ${systems.map((s) => s.name).join(", ")}`);

  const tops = Array.from({ length: nq }, () => new TopK(k));
  const rows: (Row & { nq?: number })[] = [];
  const qfile = path.join(a.tmp, "queries.f32");
  fs.writeFileSync(qfile, qs);
  for (const [si, sys] of systems.entries()) {
    const withTruth = si === 0;
    const idx = sys.make();
    let genMs = 0;
    let truthMs = 0;
    const t0 = performance.now();
    for (let c = 0; c < chunks; c++) {
      const rowsIn = Math.min(a.chunk, n - c * a.chunk);
      let t = performance.now();
      const { xs } = syntheticClustersChunk(data, c, rowsIn, centers);
      genMs += performance.now() - t;
      if (c === 0) idx.train(xs);
      idx.add(Uint32Array.from({ length: rowsIn }, (_, i) => c * a.chunk + i), xs);
      if (withTruth) {
        t = performance.now();
        mergeTruth(xs, rowsIn, dim, qs, nq, k, c * a.chunk, tops);
        truthMs += performance.now() - t;
      }
      if (c % 8 === 7 || c === chunks - 1) log(`  ${sys.name}: ${c * a.chunk + rowsIn} rows added (${round((performance.now() - t0) / 1000, 0)} s, peak RSS ${round(procRssMb().peak, 0)} MiB)`);
    }
    const file = path.join(a.tmp, `${sys.name}.idx`);
    const ts = performance.now();
    await idx.save(file);
    const saveS = (performance.now() - ts) / 1000;
    const build = (performance.now() - t0 - genMs - truthMs) / 1000;
    log(`${sys.name}: built in ${round(build, 0)} s (save ${round(saveS, 0)} s; data generation ${round(genMs / 1000, 0)} s and ground truth ${round(truthMs / 1000, 0)} s not counted), ${round(idx.residentBytes / n, 1)} resident bytes/vector, file ${round(fs.statSync(file).size / 2 ** 30, 2)} GiB, peak RSS of the building process ${round(procRssMb().peak, 0)} MiB`);
    if (withTruth) {
      const truth = new Uint32Array(nq * k);
      const scores = new Float32Array(nq * k);
      tops.forEach((tk, i) => {
        const r = tk.result();
        truth.set(r.offsets, i * k);
        scores.set(r.scores, i * k);
      });
      fs.writeFileSync(path.join(a.tmp, "truth.u32"), truth);
      fs.writeFileSync(path.join(a.tmp, "truth.f32"), scores);
    }
    const out = execFileSync(process.execPath, ["--import", "tsx", "bench/lib/queries.ts", file, qfile, path.join(a.tmp, "truth.u32"), path.join(a.tmp, "truth.f32"), String(k), sys.nprobes, sys.refines], { encoding: "utf8", maxBuffer: 1 << 24 });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { open_ms: number; first_query_ms: number; resident_bytes: number; rss_after_open_mb: number; peak_rss_mb: number; rows: { nprobe?: number; refine?: number; p50: number; p99: number; qps: number; recall: number; identical: boolean; reads: number }[] };
    log(`${sys.name}: child opened it in ${round(r.open_ms, 0)} ms (+ ${round(r.first_query_ms, 1)} ms first query), RSS ${round(r.rss_after_open_mb, 0)} MiB after open, ${round(r.peak_rss_mb, 0)} MiB peak over all queries`);
    for (const x of r.rows) {
      rows.push({ system: sys.name, param: `${sys.param(x.nprobe, x.refine)} (${round(x.reads, 1)} float32 reads/query)`, build_s: build, p50_ms: x.p50, p99_ms: x.p99, qps: x.qps, recall10: x.recall, rss_mb: r.peak_rss_mb, nq, bytes_per_vector: r.resident_bytes / n, identical: sys.exact ? x.identical : null });
    }
    rows.push({ system: sys.name, param: "open saved index + first query (fresh process)", build_s: 0, p50_ms: r.open_ms + r.first_query_ms, p99_ms: r.open_ms + r.first_query_ms, qps: 0, recall10: null, rss_mb: r.rss_after_open_mb, nq: 1 });
    fs.rmSync(file, { force: true });
  }
  return rows;
}

/** Folds one chunk's exact top-k of every query into `tops` (native scan, then float64 re-score of its k best). */
function mergeTruth(xs: Float32Array, rows: number, dim: number, qs: Float32Array, nq: number, k: number, first: number, tops: TopK[]): void {
  // A few extra candidates: the native ranking is float32, the re-score float64.
  const want = Math.min(k + 4, rows);
  const m = exactSearch(xs, qs, dim, want, MetricKind.IP, 0);
  const keys = m.keys as BigUint64Array;
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < want; j++) {
      const r = Number(keys[i * want + j]);
      let s = 0;
      for (let t = 0; t < dim; t++) s += xs[r * dim + t] * qs[i * dim + t];
      tops[i].push(first + r, Math.fround(s));
    }
  }
}
