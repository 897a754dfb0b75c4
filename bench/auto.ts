/**
 * Where "auto" should switch from exact to an ANN index: exact (Flat), IVF (default nlist,
 * nprobe 16) and HNSW (M 16, ef 64) latency and recall@10 at growing n, in one run on the same
 * seeded clustered data (dim 512, k 10, 1 thread per query), so the ratio exact / ANN is measured
 * A against B. The query planner's AUTO_EXACT_BELOW comes from this table.
 *
 * Usage: npm run bench:auto [-- --sizes 1000,2500,5000,10000,20000,50000] [--queries 300] [--json out.json]
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { FlatIndex, HnswIndex, IvfIndex } from "../src/index/index.js";
import { defaultNlist } from "../src/collection/index.js";
import { recallAtK, syntheticClusters, syntheticQueries } from "../test/fixtures/synthetic.js";
import { round, timeCalls } from "./lib/stats.js";

const { values: a } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,2500,5000,10000,20000,50000" },
    queries: { type: "string", default: "300" },
    dim: { type: "string", default: "512" },
    json: { type: "string" },
  },
});
const dim = Number(a.dim);
const nq = Number(a.queries);
const k = 10;
const rows: Record<string, number | string>[] = [];

for (const n of a.sizes!.split(",").map(Number)) {
  const opts = { n, dim, clusters: Math.max(10, Math.round(Math.sqrt(n) / 2)), seed: 11 };
  const { xs } = syntheticClusters(opts);
  const { qs } = syntheticQueries({ ...opts, nq });
  const offsets = Uint32Array.from({ length: n }, (_, i) => i);
  const q = (i: number) => qs.subarray(i * dim, (i + 1) * dim);
  const flat = new FlatIndex(dim, { threads: 1 });
  flat.add(offsets, xs);
  const nlist = defaultNlist(n);
  const ivf = new IvfIndex({ dim, nlist });
  ivf.train(xs);
  ivf.add(offsets, xs);
  const hnsw = new HnswIndex({ dim, m: 16, efConstruction: 64 });
  hnsw.add(offsets, xs);
  const exact = await timeCalls(nq, (i) => flat.search(q(i), k));
  const iv = await timeCalls(nq, (i) => ivf.search(q(i), k, { nprobe: 16 }));
  const hn = await timeCalls(nq, (i) => hnsw.search(q(i), k, { ef: 64 }));
  const recall = (out: { offsets: Uint32Array }[]) => out.reduce((s, h, i) => s + recallAtK(h.offsets, exact.out[i].offsets, k), 0) / nq;
  const row = {
    n,
    exact_p50_ms: round(exact.p50),
    ivf_p50_ms: round(iv.p50),
    ivf_recall10: round(recall(iv.out)),
    hnsw_p50_ms: round(hn.p50),
    hnsw_recall10: round(recall(hn.out)),
    exact_over_hnsw: round(exact.p50 / hn.p50, 2),
    exact_over_ivf: round(exact.p50 / iv.p50, 2),
    saved_ms_hnsw: round(exact.p50 - hn.p50),
  };
  rows.push(row);
  process.stderr.write(`n=${n} done\n`);
}

const cols = Object.keys(rows[0]);
console.log(`dim ${dim}, k ${k}, ${nq} queries per row, 1 thread; IVF nlist = defaultNlist(n), nprobe 16; HNSW M 16, efC 64, ef 64\n`);
console.log(`| ${cols.join(" | ")} |\n|${cols.map(() => "---:").join("|")}|`);
for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(" | ")} |`);
if (a.json) fs.writeFileSync(a.json, JSON.stringify(rows, null, 2));
