/**
 * Child process of bench/search.ts: opens a saved index and answers one query, timing the open and
 * the first query separately (from inside the process, after Node and tsx have started).
 * Usage: tsx bench/lib/open.ts <index-file> <query.f32> <k> [nprobe]
 * Prints one JSON line: {"open_ms", "first_query_ms", "total_ms", "size", "rss_mb"}.
 */
import fs from "node:fs";

const [file, qfile, kArg, nprobeArg] = process.argv.slice(2);
const t0 = performance.now();
const { loadIndex } = await import("../../src/index/index.js");
const tImport = performance.now();
const idx = await loadIndex(file);
const t1 = performance.now();
const raw = fs.readFileSync(qfile);
const q = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const hits = idx.search(q, Number(kArg), { nprobe: nprobeArg ? Number(nprobeArg) : undefined });
const t2 = performance.now();
console.log(
  JSON.stringify({
    import_ms: tImport - t0,
    open_ms: t1 - tImport,
    first_query_ms: t2 - t1,
    total_ms: t2 - tImport,
    size: idx.size,
    hits: hits.offsets.length,
    rss_mb: process.memoryUsage().rss / 2 ** 20,
  }),
);
