/**
 * Child process of bench/write.ts: opens a collection folder in a fresh process and answers IVF
 * (and HNSW) queries, timing the open, the first IVF query (which loads the IVF file and replays
 * every commit since it into the index's delta), later IVF queries, and the first HNSW query.
 * Compaction is disabled (compactMin = Infinity) so that this process never rewrites the files it
 * measures, not even on close.
 * Usage: tsx bench/lib/open-collection.ts <dir> <queries.f32> <dim> <nprobe> [ef]
 * Prints one JSON line.
 */
import fs from "node:fs";

const [dir, qfile, dimArg, nprobeArg, efArg] = process.argv.slice(2);
const dim = Number(dimArg);
const nprobe = Number(nprobeArg);
const ef = efArg ? Number(efArg) : undefined;
const raw = fs.readFileSync(qfile);
const qs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const nq = qs.length / dim;
const q = (i: number): Float32Array => qs.slice((i % nq) * dim, ((i % nq) + 1) * dim);

const t0 = performance.now();
const { Collection } = await import("../../src/collection/index.js");
const tImport = performance.now();
const col = await Collection.open(dir, { create: false, compaction: { compactMin: Infinity, compactFraction: Infinity } });
const tOpen = performance.now();
const first = await col.search({ vector: q(0) }, { k: 10, index: "ivf", nprobe, modality: "image" });
const tFirst = performance.now();
const later: number[] = [];
for (let i = 1; i <= 30; i++) {
  const t = performance.now();
  await col.search({ vector: q(i) }, { k: 10, index: "ivf", nprobe, modality: "image" });
  later.push(performance.now() - t);
}
const tH = performance.now();
await col.search({ vector: q(0) }, { k: 10, index: "hnsw", ef, modality: "image" });
const hnswFirst = performance.now() - tH;
const status = (await col.indexStatus());
await col.close();
later.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    import_ms: tImport - t0,
    open_ms: tOpen - tImport,
    first_ivf_query_ms: tFirst - tOpen,
    open_plus_first_ivf_ms: tFirst - tImport,
    ivf_query_p50_ms: later[Math.floor(later.length / 2)],
    first_hnsw_query_ms: hnswFirst,
    hits: first.results.length,
    pending: status.map((s) => ({ index: `${s.type}:${s.modality}`, size: s.size, pending: s.pending })),
    rss_mb: process.memoryUsage().rss / 2 ** 20,
  }),
);
