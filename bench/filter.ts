/**
 * Filtered search recall (issue 12): recall@10 of a filtered search against the exact filtered
 * scan (the true top 10 among the items that pass), and how many of the 10 come back, at
 * selectivities 50%, 10%, 1% and 0.1%, on both stores, through the library:
 *   SQLite    exact, clipdb's IVF (nprobe 16) and HNSW M16 (ef 64)
 *   Postgres  pgvector HNSW M16 (ef_search 64) and IVFFlat (probes 16), with pgvector 0.8's
 *             iterative scans (relaxed_order), on PGlite over TCP
 * Data: seeded clustered vectors; `bucket` = a seeded permutation of the rows mod 1000, so the
 * filter is independent of the clusters, and `bucket < s` keeps s/1000 of the items.
 * The planner answers filters that leave ≤ 4096 candidates by an exact scan of them (the
 * `answered by` column says which index did), so the low selectivities are exact by design.
 *
 * Usage: npm run bench:filter [-- --n 50000] [--pg-n 20000] [--dim 128] [--queries 50] [--stores sqlite,postgres]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Collection } from "../src/collection/index.js";
import { startPgServer } from "../scripts/lib/pg-server.js";
import { prng, syntheticClusters, syntheticQueries } from "../test/fixtures/synthetic.js";
import { quantile } from "./lib/stats.js";

const { values: a } = parseArgs({
  options: {
    n: { type: "string", default: "50000" },
    "pg-n": { type: "string", default: "20000" },
    dim: { type: "string", default: "128" },
    queries: { type: "string", default: "50" },
    stores: { type: "string", default: "sqlite,postgres" },
  },
});
const dim = Number(a.dim);
const nq = Number(a.queries);
const k = 10;
const stores = new Set(a.stores!.split(","));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-bench-filter-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const progress = (s: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const SELECTIVITY: [string, string[]][] = [
  ["50%", ["bucket<500"]],
  ["10%", ["bucket<100"]],
  ["1%", ["bucket<10"]],
  ["0.1%", ["bucket=0"]],
];

function dataset(n: number) {
  const o = { n, dim, clusters: 100, seed: 21 };
  const { xs } = syntheticClusters(o);
  const { qs } = syntheticQueries({ ...o, nq });
  const rand = prng(5);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const meta = perm.map((p) => ({ bucket: p % 1000 }));
  return { xs, qs, meta, ids: Array.from({ length: n }, (_, i) => `v${i}`) };
}

const rows: string[] = [];

async function measure(store: string, col: Collection, n: number, qs: Float32Array, kinds: { label: string; index: "exact" | "ivf" | "hnsw" }[]): Promise<void> {
  for (const [sel, where] of SELECTIVITY) {
    const truth: string[][] = [];
    for (let i = 0; i < nq; i++) truth.push((await col.search({ vector: qs.slice(i * dim, (i + 1) * dim) }, { k, index: "exact", where })).results.map((r) => r.id));
    for (const kind of kinds) {
      let hit = 0;
      let returned = 0;
      const ms: number[] = [];
      const answered = new Set<string>();
      for (let i = 0; i < nq; i++) {
        const t = performance.now();
        const r = await col.search({ vector: qs.slice(i * dim, (i + 1) * dim) }, { k, index: kind.index, where, nprobe: 16, ef: 64 });
        ms.push(performance.now() - t);
        answered.add(r.index);
        returned += r.results.length;
        const got = new Set(r.results.map((h) => h.id));
        hit += truth[i].filter((id) => got.has(id)).length;
      }
      const total = truth.reduce((s, t) => s + t.length, 0);
      rows.push(`| ${store} | ${n.toLocaleString("en")} | ${kind.label} | ${sel} | ${(hit / total).toFixed(3)} | ${(returned / nq).toFixed(1)} | ${quantile(ms, 0.5).toFixed(2)} | ${[...answered].join(", ")} |`);
      progress(rows.at(-1)!);
    }
  }
}

if (stores.has("sqlite")) {
  const n = Number(a.n);
  const d = dataset(n);
  const col = await Collection.open(path.join(tmp, "sqlite"), { create: true });
  await col.addVectors({ vectors: d.xs, dim, ids: d.ids, modality: "image", meta: d.meta });
  progress("sqlite: building IVF and HNSW");
  await col.buildIndex({ type: "ivf" });
  await col.buildIndex({ type: "hnsw", m: 16 });
  await measure("SQLite", col, n, d.qs, [
    { label: "IVF (nprobe 16)", index: "ivf" },
    { label: "HNSW M16 (ef 64)", index: "hnsw" },
  ]);
  await col.close();
}

if (stores.has("postgres")) {
  const n = Number(a["pg-n"]);
  const d = dataset(n);
  const server = await startPgServer({ dir: path.join(tmp, "pgdata"), timeoutMs: 300_000 });
  try {
    const col = await Collection.open(`${server.url}?schema=bench_filter`, { create: true });
    for (let i = 0; i < n; i += 5000) {
      const end = Math.min(n, i + 5000);
      await col.addVectors({ vectors: d.xs.slice(i * dim, end * dim), dim, ids: d.ids.slice(i, end), modality: "image", meta: d.meta.slice(i, end) });
    }
    progress("postgres: building pgvector HNSW and IVFFlat");
    await col.buildIndex({ type: "hnsw", m: 16 });
    await col.buildIndex({ type: "ivf" });
    await measure("Postgres (PGlite)", col, n, d.qs, [
      { label: "pgvector HNSW M16 (ef_search 64)", index: "hnsw" },
      { label: "pgvector IVFFlat (probes 16)", index: "ivf" },
    ]);
    await col.close();
  } finally {
    await server.stop();
  }
}

console.log(
  `\nFiltered recall@10 against the exact filtered scan, ${dim}-d clustered vectors, ${nq} queries, k ${k}\n\n` +
    "| store | n | index | selectivity | recall@10 | results returned (of 10) | p50 ms | answered by |\n|---|---:|---|---:|---:|---:|---:|---|\n" +
    rows.join("\n"),
);
