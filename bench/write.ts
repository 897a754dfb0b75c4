/**
 * Write-path benchmark: one run, seeded clustered image vectors (default dim 512), two collections
 * (2,000 vectors and n, default 100k), each with Flat, IVF and HNSW built and loaded, then:
 *   - add 1 / 32 / 1,024 items through the library (`addVectors`, one call per batch), p50 and p99;
 *   - add 1 / 32 items through HTTP `POST /api/v1/items` (app.inject, no port): single-item image
 *     uploads (a batch of 32 is 32 posts in sequence), embedded by the full-size random-weight
 *     ViT-B/32; and single text posts (which land in the text modality: no IVF/HNSW there);
 *   - remove 1 item (library), p50 and p99;
 *   - RSS growth, bytes written (write syscalls, /proc/self/io) and index files rewritten per
 *     single add;
 * and on the n collection only: 10,000 single adds with compaction disabled (the delta replay
 * case), then "open + first IVF query" in a fresh process, `compactIndexes()` timed, and open +
 * first IVF query again.
 *
 * Both collections stay open and every row alternates between them rep by rep, so drift in the
 * load of a shared machine hits both sizes alike. Before each timed row every delta is compacted
 * (untimed, then `sync`), so each row starts from empty deltas; automatic compactions that fire
 * inside a row are counted in the table's last column (they are part of its latencies, as in the
 * product, where the write that crosses the threshold runs the compaction).
 *
 * Usage: npm run bench:write -- --n 100000 [--json out.json] [--m 16] [--small 2000]
 *        [--dim 512] [--clusters 100] [--seed 7] [--nprobe 16] [--reps1 100] [--reps32 30]
 *        [--reps1024 8] [--http-reps1 50] [--http-reps32 5] [--text-reps1 30] [--replay 10000]
 *        [--remove-reps 100] [--no-http] [--model .cache/full-model]
 * The full-size random-weight model is generated into --model when missing (about 600 MB, gitignored).
 * BENCH_COMMIT=<sha> names the code measured when the run is on an exported snapshot (no .git).
 * Writes the markdown table to bench/out/write-<n>.md (and --json as asked).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { Collection, defaultNlist } from "../src/collection/index.js";
import { buildServer } from "../src/server/index.js";
import { ensureClipModel } from "../scripts/lib/make-model.js";
import { prng, syntheticClusters, syntheticQueries } from "../test/fixtures/synthetic.js";
import { quantile, round } from "./lib/stats.js";

const { values: a } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    small: { type: "string", default: "2000" },
    dim: { type: "string", default: "512" },
    m: { type: "string", default: "16" },
    clusters: { type: "string", default: "100" },
    seed: { type: "string", default: "7" },
    nprobe: { type: "string", default: "16" },
    reps1: { type: "string", default: "100" },
    reps32: { type: "string", default: "30" },
    reps1024: { type: "string", default: "8" },
    "http-reps1": { type: "string", default: "50" },
    "http-reps32": { type: "string", default: "5" },
    "text-reps1": { type: "string", default: "30" },
    "remove-reps": { type: "string", default: "100" },
    replay: { type: "string", default: "10000" },
    "no-http": { type: "boolean", default: false },
    model: { type: "string", default: ".cache/full-model" },
    json: { type: "string" },
  },
});
const N = Number(a.n);
const SMALL = Number(a.small);
const dim = Number(a.dim);
const M = Number(a.m);
const clusters = Number(a.clusters);
const seed = Number(a.seed);
const nprobe = Number(a.nprobe);
const reps = { one: Number(a.reps1), b32: Number(a.reps32), b1024: Number(a.reps1024), http1: Number(a["http-reps1"]), http32: Number(a["http-reps32"]), text1: Number(a["text-reps1"]), rm: Number(a["remove-reps"]) };
const REPLAY = Number(a.replay);
const http = !a["no-http"];
const modelDir = path.resolve(a.model!);

const outDir = path.resolve("bench/out");
fs.mkdirSync(outDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-bench-write-"));
// the collections take about 2 GB at n = 100k: remove them however the run ends
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const log = (s: string): void => console.log(s);
const progress = (s: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};
setFlagsFromString("--expose-gc");
const gcFn = runInNewContext("gc") as () => void;
const gc = (): void => gcFn();
const t00 = performance.now();

/** Bytes passed to write syscalls (wchar) and bytes this process caused to be written to storage (write_bytes). */
function procIo(): { wchar: number; writeBytes: number } {
  try {
    const t = fs.readFileSync("/proc/self/io", "utf8");
    const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(t)?.[1] ?? NaN);
    return { wchar: get("wchar"), writeBytes: get("write_bytes") };
  } catch {
    return { wchar: NaN, writeBytes: NaN };
  }
}

/** name, size and mtime of every index file: a changed snapshot means an index file was written. */
function indexFiles(dir: string): string {
  const d = path.join(dir, "indexes");
  if (!fs.existsSync(d)) return "";
  return fs.readdirSync(d).sort().map((f) => {
    const s = fs.statSync(path.join(d, f));
    return `${f}:${s.size}:${s.mtimeMs}`;
  }).join("|");
}

/**
 * Flushes dirty pages to disk (untimed) after index files were written, so that the writeback of
 * hundreds of MB (a 100k build or compaction) does not slow the fsyncs of the timed ops after it.
 */
function flushDisk(): void {
  try {
    execFileSync("sync");
  } catch {
    // no sync(1): the timed ops may then pay for the writeback
  }
}

/** Total bytes of the index files. */
function fileBytes(dir: string): number {
  const d = path.join(dir, "indexes");
  return fs.existsSync(d) ? fs.readdirSync(d).reduce((s, f) => s + fs.statSync(path.join(d, f)).size, 0) : 0;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

/** Distinct seeded JPEG uploads (noise, 96 x 96): valid images, each with its own content hash. */
async function makeImage(i: number): Promise<Buffer> {
  const r = prng(seed * 7919 + i);
  const w = 96;
  const px = Buffer.alloc(w * w * 3);
  for (let j = 0; j < px.length; j++) px[j] = Math.floor(r() * 256);
  return sharp(px, { raw: { width: w, height: w, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** A multipart/form-data body, encoded by the platform's own FormData (as the server tests do). */
async function multipart(fields: Record<string, string>, file?: { field: string; name: string; type: string; data: Buffer }): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.field, new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
  const req = new Request("http://localhost/", { method: "POST", body: form });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { "content-type": req.headers.get("content-type") ?? "" } };
}

interface Timed {
  p50: number;
  p99: number;
  lat: number[];
  compactions: number;
}

const ROWS = {
  lib1: "add 1 (library addVectors)",
  lib32: "add 32 (library, one addVectors call)",
  lib1024: "add 1,024 (library, one addVectors call)",
  http1: "add 1 (HTTP POST /items, image upload)",
  http32: "add 32 (HTTP, 32 single image posts in sequence)",
  text1: "add 1 (HTTP POST /items, text item)",
  rm1: "remove 1 (library remove)",
} as const;

type Body = { payload: Buffer; headers: Record<string, string> };

/** One benchmarked collection and its state between rows. */
interface Ctx {
  size: number;
  dir: string;
  col: Collection;
  app?: FastifyInstance;
  setup: Record<string, number>;
  pool: Float32Array;
  next: number;
  img: number;
  txt: number;
  rm: number;
  body?: Body;
  bodies: Body[];
  rows: Map<string, Timed & { reps: number }>;
  single?: Record<string, number>;
}

const queries = syntheticQueries({ n: N, dim, clusters, seed, nq: 64, querySeed: seed * 2 + 77 }).qs;
const qfile = path.join(tmp, "queries.f32");
fs.writeFileSync(qfile, queries);
const modelId = http ? modelDir : undefined;
const RSS_ADDS = 2000;

log(`# clipdb write-path benchmark: n=${N} and ${SMALL}, dim=${dim}, HNSW M=${M}, clusters=${clusters}, seed=${seed}`);
/** The code measured: BENCH_COMMIT (for a run on an exported snapshot), else git's HEAD, flagging uncommitted src/ changes. */
function codeVersion(): string {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    const git = (...args: string[]): string => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "src") ? " + uncommitted changes under src/" : "");
  } catch {
    return "unknown (not a git checkout)";
  }
}
const commit = codeVersion();
log(`code: commit ${commit}; node ${process.version}`);
log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${round(os.totalmem() / 2 ** 30, 1)} GiB; load average at start ${os.loadavg().map((x) => round(x, 2)).join(" ")} (cores shared with other work); collections in ${tmp}`);

if (http) {
  const t = performance.now();
  ensureClipModel(modelDir, { full: true, log: (l: string) => progress(l) });
  progress(`model ready at ${modelDir} (${round((performance.now() - t) / 1000, 1)} s)`);
}

// the collection's model id is the model folder's absolute path (what Collection.open records for a
// local folder), so that `{ model }` opens the imported collection and HTTP posts embed with it
const openAt = (dir: string, compactMin?: number): Promise<Collection> =>
  Collection.open(dir, { ...(http ? { model: modelDir } : {}), ...(compactMin === undefined ? {} : { compaction: { compactMin } }) });

/** Creates the collection of `size` seeded vectors, builds IVF and HNSW, and loads every index. */
async function setup(size: number): Promise<Ctx> {
  const dir = path.join(tmp, `col-${size}`);
  const s: Record<string, number> = {};
  const col = await openAt(dir);
  let t = performance.now();
  const { xs } = syntheticClusters({ n: size, dim, clusters, seed });
  s.data_s = (performance.now() - t) / 1000;
  t = performance.now();
  const B = 10_000;
  for (let i = 0; i < size; i += B) {
    const e = Math.min(size, i + B);
    await col.addVectors({ vectors: xs.subarray(i * dim, e * dim), dim, ids: Array.from({ length: e - i }, (_, j) => `b${i + j}`), modality: "image", modelId });
    if (size > B) progress(`n=${size}: imported ${e}/${size}`);
  }
  s.import_s = (performance.now() - t) / 1000;
  progress(`n=${size}: imported in ${round(s.import_s, 1)} s; building IVF (nlist ${defaultNlist(size)})`);
  t = performance.now();
  await col.buildIndex({ type: "ivf" });
  s.ivf_build_s = (performance.now() - t) / 1000;
  progress(`n=${size}: IVF built in ${round(s.ivf_build_s, 1)} s; building HNSW M=${M} on 1 thread (no progress callback: the native build blocks until done)`);
  t = performance.now();
  await col.buildIndex({ type: "hnsw", m: M });
  s.hnsw_build_s = (performance.now() - t) / 1000;
  s.index_bytes_after_build = fileBytes(dir);
  progress(`n=${size}: HNSW built in ${round(s.hnsw_build_s, 1)} s; index files ${round(s.index_bytes_after_build / 2 ** 20, 1)} MiB`);
  // load every index (as in a server that has answered queries): exact, IVF, HNSW
  for (const index of ["exact", "ivf", "hnsw"] as const) await col.search({ vector: queries.subarray(0, dim) }, { k: 10, index, nprobe, modality: "image" });
  const need = RSS_ADDS + 8 + 2 * reps.one + 32 * (4 + reps.b32) + 1024 * (2 + reps.b1024);
  const pool = syntheticQueries({ n: size, dim, clusters, seed, nq: need, querySeed: seed * 2 + 31 }).qs;
  let app: FastifyInstance | undefined;
  if (http) {
    app = await buildServer(col, { webRoot: false });
    await app.ready();
  }
  return { size, dir, col, app, setup: s, pool, next: 0, img: 0, txt: 0, rm: 0, bodies: [], rows: new Map() };
}

const libAdd = (k: number) => async (c: Ctx): Promise<void> => {
  const vectors = c.pool.subarray(c.next * dim, (c.next + k) * dim);
  if (vectors.length !== k * dim) throw new Error("vector pool exhausted");
  const ids = Array.from({ length: k }, (_, i) => `a${c.next + i}`);
  c.next += k;
  const s = await c.col.addVectors({ vectors, dim, ids, modality: "image", modelId });
  if (s.added !== k) throw new Error(`added ${s.added} of ${k}`);
};
const post = async (c: Ctx, b: Body): Promise<void> => {
  const res = await c.app!.inject({ method: "POST", url: "/api/v1/items", payload: b.payload, headers: b.headers });
  if (res.statusCode !== 201) throw new Error(`POST /api/v1/items: ${res.statusCode} ${res.body}`);
};
const nextImage = async (c: Ctx): Promise<Body> => {
  const i = c.img++;
  return multipart({ id: `h${i}` }, { field: "image", name: `h${i}.jpg`, type: "image/jpeg", data: await makeImage(c.size * 1000 + i) });
};

/**
 * Times one row on every collection, alternating between them rep by rep (and the order within a
 * rep), so that drift in the load of the shared machine hits every size alike. Deltas are
 * compacted first (untimed); between ops (untimed) the index files are snapshotted, and a changed
 * snapshot counts one automatic compaction.
 */
async function runRow(ctxs: Ctx[], name: string, n: number, warmup: number, op: (c: Ctx) => Promise<void>, prep?: (c: Ctx) => Promise<void>): Promise<void> {
  for (const c of ctxs) await c.col.compactIndexes();
  flushDisk();
  for (let i = 0; i < warmup; i++) {
    for (const c of ctxs) {
      await prep?.(c);
      await op(c);
    }
  }
  const lat = ctxs.map(() => [] as number[]);
  const compactions = ctxs.map(() => 0);
  const files = ctxs.map((c) => indexFiles(c.dir));
  for (let i = 0; i < n; i++) {
    const order = i % 2 ? [...ctxs.keys()].reverse() : [...ctxs.keys()];
    for (const j of order) {
      const c = ctxs[j];
      await prep?.(c);
      const t = performance.now();
      await op(c);
      lat[j].push(performance.now() - t);
      const now = indexFiles(c.dir);
      if (now !== files[j]) compactions[j]++;
      files[j] = now;
    }
  }
  ctxs.forEach((c, j) => c.rows.set(name, { p50: quantile(lat[j], 0.5), p99: quantile(lat[j], 0.99), lat: lat[j], compactions: compactions[j], reps: n }));
  progress(`${name}: p50 ${ctxs.map((c) => `${round(c.rows.get(name)!.p50, 3)} ms (n=${c.size})`).join(", ")}`);
}

/** Theil-Sen slope: the median of the pairwise slopes (robust to a one-off jump such as a freed buffer). */
function robustSlope(xs: number[], ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) slopes.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
  return quantile(slopes, 0.5);
}

/**
 * RSS and bytes written per single add, measured alone on one collection (RSS_ADDS adds in a
 * row). RSS is sampled after a full gc every RSS_ADDS / 8 adds, and its growth per add is the
 * Theil-Sen slope of those samples (plain before/after differences swing by tens of MB when the
 * allocator returns memory freed by the compaction before the run).
 */
async function singleAddCost(c: Ctx): Promise<void> {
  await c.col.compactIndexes();
  flushDisk();
  for (let i = 0; i < 5; i++) await libAdd(1)(c);
  const step = RSS_ADDS / 8;
  const at: number[] = [];
  const rss: number[] = [];
  const sample = (i: number): void => {
    gc();
    at.push(i);
    rss.push(process.memoryUsage().rss);
  };
  sample(0);
  const io0 = procIo();
  const files0 = indexFiles(c.dir);
  const bytes0 = dirBytes(c.dir);
  let ioPaused = 0;
  for (let i = 1; i <= RSS_ADDS; i++) {
    await libAdd(1)(c);
    if (i % step === 0) {
      const p0 = procIo().wchar;
      sample(i);
      ioPaused += procIo().wchar - p0;
    }
  }
  const io1 = procIo();
  const bytes1 = dirBytes(c.dir);
  const files1 = indexFiles(c.dir);
  c.single = {
    adds: RSS_ADDS,
    rss_kib_per_add: robustSlope(at, rss) / 1024,
    rss_kib_per_add_endpoints: (rss[rss.length - 1] - rss[0]) / 1024 / RSS_ADDS,
    wchar_bytes_per_add: (io1.wchar - io0.wchar - ioPaused) / RSS_ADDS,
    write_bytes_per_add: (io1.writeBytes - io0.writeBytes) / RSS_ADDS,
    dir_bytes_per_add: (bytes1 - bytes0) / RSS_ADDS,
    index_files_rewritten: files0 === files1 ? 0 : 1,
  };
  await c.col.compactIndexes();
}

const small = await setup(SMALL);
const big = await setup(N);
const both = [small, big];
gc();

await runRow(both, ROWS.lib1, reps.one, 5, libAdd(1));
await runRow(both, ROWS.lib32, reps.b32, 2, libAdd(32));
await runRow(both, ROWS.lib1024, reps.b1024, 1, libAdd(1024));
// remove base items, so that each becomes a tombstone in the IVF and HNSW deltas
await runRow(both, ROWS.rm1, reps.rm, 3, async (c) => {
  const got = await c.col.remove([`b${c.size - 1 - c.rm++}`]);
  if (got !== 1) throw new Error("remove found nothing");
});
for (const c of both) await singleAddCost(c);
progress(`single-add RSS / bytes measured`);

if (http) {
  for (const c of both) {
    const t = performance.now();
    await post(c, await nextImage(c)); // loads the model
    c.setup.model_load_first_post_s = (performance.now() - t) / 1000;
  }
  progress(`model loaded in each collection (${both.map((c) => round(c.setup.model_load_first_post_s, 1)).join(" s, ")} s)`);
  await runRow(both, ROWS.http1, reps.http1, 3, (c) => post(c, c.body!), async (c) => void (c.body = await nextImage(c)));
  await runRow(both, ROWS.http32, reps.http32, 1, async (c) => {
    for (const b of c.bodies) await post(c, b);
  }, async (c) => {
    c.bodies = [];
    for (let j = 0; j < 32; j++) c.bodies.push(await nextImage(c));
  });
  await runRow(both, ROWS.text1, reps.text1, 3, (c) => post(c, c.body!), async (c) => {
    const i = c.txt++;
    c.body = await multipart({ id: `t${i}`, text: `a photo of item number ${i} on a table` });
  });
}
for (const c of both) {
  await c.app?.close();
  await c.col.compactIndexes();
  await c.col.close();
}

/** Open + first IVF query in a fresh process (bench/lib/open-collection.ts). */
function child(dir: string): Record<string, any> {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, ["--import", "tsx", "bench/lib/open-collection.ts", dir, qfile, String(dim), String(nprobe)], { encoding: "utf8", maxBuffer: 1 << 20 });
  const r = JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
  return { ...r, process_wall_ms: performance.now() - t0 };
}

// ---- delta replay: REPLAY single adds with compaction disabled, on the n collection with nothing loaded
let rp: Record<string, any> | undefined;
if (REPLAY > 0) {
  const dir = big.dir;
  flushDisk();
  const base = child(dir);
  const vs = syntheticQueries({ n: N, dim, clusters, seed, nq: REPLAY, querySeed: seed * 2 + 53 }).qs;
  let col = await openAt(dir, Infinity);
  const status0 = (await col.indexStatus());
  const lat: number[] = [];
  let t = performance.now();
  for (let i = 0; i < REPLAY; i++) {
    const s = performance.now();
    await col.addVectors({ vectors: vs.subarray(i * dim, (i + 1) * dim), dim, ids: [`r${i}`], modality: "image", modelId });
    lat.push(performance.now() - s);
    if ((i + 1) % 2000 === 0) progress(`replay case: ${i + 1}/${REPLAY} single adds`);
  }
  const loopS = (performance.now() - t) / 1000;
  const pendingAfter = (await col.indexStatus()).map((s) => `${s.type}:${s.modality} pending ${s.pending}`).join(", ");
  await col.close();
  flushDisk();
  const before = child(dir);
  progress(`open + first IVF query with ${REPLAY} pending: ${round(before.open_plus_first_ivf_ms, 1)} ms`);
  col = await openAt(dir);
  t = performance.now();
  for (const index of ["ivf", "hnsw"] as const) await col.search({ vector: queries.subarray(0, dim) }, { k: 10, index, nprobe, modality: "image" });
  const loadReplay = performance.now() - t;
  t = performance.now();
  const compacted = await col.compactIndexes();
  const compactMs = performance.now() - t;
  await col.close();
  progress(`compactIndexes() of ${compacted.join(", ")} in ${round(compactMs / 1000, 1)} s`);
  flushDisk();
  const after = child(dir);
  rp = {
    adds: REPLAY,
    status_before_loop: status0.map((s) => `${s.type}:${s.modality} pending ${s.pending}`).join(", "),
    loop_s: loopS,
    add1_p50_first500_ms: quantile(lat.slice(0, 500), 0.5),
    add1_p50_last500_ms: quantile(lat.slice(-500), 0.5),
    add1_p99_all_ms: quantile(lat, 0.99),
    pending_after_loop: pendingAfter,
    open_first_ivf_no_delta: base,
    open_first_ivf_with_delta: before,
    in_process_load_and_replay_ivf_hnsw_ms: loadReplay,
    compact_ms: compactMs,
    compacted,
    open_first_ivf_after_compaction: after,
  };
}

// ---- report
const f = (x: number | undefined, d = 3): string => (x === undefined || !Number.isFinite(x) ? "n/a" : round(x, d).toString());
const targetOf = (op: string): number | undefined => (op === ROWS.lib1 || op === ROWS.http1 ? 1.5 : undefined);
const table: Record<string, unknown>[] = [];
const lines = [
  `| operation | p50_ms (${SMALL}) | p99_ms (${SMALL}) | p50_ms (${N}) | p99_ms (${N}) | ratio p50 n/${SMALL} | target | met | reps | auto-compactions (${SMALL} / ${N}) |`,
  "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
];
for (const op of Object.values(ROWS)) {
  const s = small.rows.get(op);
  const b = big.rows.get(op);
  if (!s && !b) continue;
  const ratio = s && b ? b.p50 / s.p50 : NaN;
  const target = targetOf(op);
  const met = target === undefined || !Number.isFinite(ratio) ? "" : ratio <= target ? "yes" : "no";
  lines.push(`| ${op} | ${f(s?.p50)} | ${f(s?.p99)} | ${f(b?.p50)} | ${f(b?.p99)} | ${f(ratio, 2)} | ${target === undefined ? "" : `<= ${target}`} | ${met} | ${b?.reps ?? s?.reps} | ${s?.compactions ?? "-"} / ${b?.compactions ?? "-"} |`);
  table.push({ operation: op, p50_ms_small: round(s?.p50 ?? NaN, 4), p99_ms_small: round(s?.p99 ?? NaN, 4), p50_ms_n: round(b?.p50 ?? NaN, 4), p99_ms_n: round(b?.p99 ?? NaN, 4), ratio_p50: round(ratio, 3), target: target ?? null, met: met === "" ? null : met === "yes", reps: b?.reps ?? s?.reps, auto_compactions_small: s?.compactions, auto_compactions_n: b?.compactions });
}
const sc = (c: Ctx, k: string, d = 0): string => f(c.single?.[k], d);
const singleLines = [
  `| per single library add (${RSS_ADDS} adds in a row, after the timed rows) | ${SMALL} | ${N} |`,
  "|---|---:|---:|",
  `| RSS growth (KiB per add; Theil-Sen slope of 9 samples, each after a full gc) | ${sc(small, "rss_kib_per_add", 2)} | ${sc(big, "rss_kib_per_add", 2)} |`,
  `| RSS growth (KiB per add; last sample minus first) | ${sc(small, "rss_kib_per_add_endpoints", 2)} | ${sc(big, "rss_kib_per_add_endpoints", 2)} |`,
  `| bytes passed to write syscalls (wchar, per add) | ${sc(small, "wchar_bytes_per_add")} | ${sc(big, "wchar_bytes_per_add")} |`,
  `| bytes written to storage (write_bytes, per add) | ${sc(small, "write_bytes_per_add")} | ${sc(big, "write_bytes_per_add")} |`,
  `| growth of the folder's file sizes (sqlite + wal + indexes, per add) | ${sc(small, "dir_bytes_per_add")} | ${sc(big, "dir_bytes_per_add")} |`,
  `| index files rewritten during the ${RSS_ADDS} adds | ${sc(small, "index_files_rewritten")} | ${sc(big, "index_files_rewritten")} |`,
  `| index files right after build (bytes; what rewriting the index files per add, as the old write path did, would write) | ${f(small.setup.index_bytes_after_build, 0)} | ${f(big.setup.index_bytes_after_build, 0)} |`,
];
const setupLine = (c: Ctx): string => `- n=${c.size}: ${Object.entries(c.setup).filter(([k]) => k.endsWith("_s")).map(([k, v]) => `${k} ${round(v, 2)}`).join(", ")}`;
const fr = (r: Record<string, any>, k: string, d = 1): string => f(r[k] as number, d);
const replayLines = rp
  ? [
      `| n=${N}: delta replay after ${rp.adds} single adds (compaction off) | value |`,
      "|---|---:|",
      `| fresh process, no delta: open + first IVF query (ms) | ${fr(rp.open_first_ivf_no_delta, "open_plus_first_ivf_ms")} |`,
      `| the ${rp.adds} single adds, nothing loaded in the writer: total (s) | ${f(rp.loop_s, 1)} |`,
      `| ... single add p50, first 500 / last 500 (ms) | ${f(rp.add1_p50_first500_ms)} / ${f(rp.add1_p50_last500_ms)} |`,
      `| fresh process: open (ms) | ${fr(rp.open_first_ivf_with_delta, "open_ms")} |`,
      `| fresh process: first IVF query, incl. IVF file load + replay of ${rp.adds} commits (ms) | ${fr(rp.open_first_ivf_with_delta, "first_ivf_query_ms")} |`,
      `| **fresh process: open + first IVF query, ${rp.adds} pending (ms)** | ${fr(rp.open_first_ivf_with_delta, "open_plus_first_ivf_ms")} |`,
      `| fresh process: later IVF query p50 with the ${rp.adds}-row delta (ms) | ${fr(rp.open_first_ivf_with_delta, "ivf_query_p50_ms", 3)} |`,
      `| fresh process: first HNSW query, incl. load + replay (ms) | ${fr(rp.open_first_ivf_with_delta, "first_hnsw_query_ms")} |`,
      `| in-process load + replay of IVF and HNSW, before compacting (ms) | ${f(rp.in_process_load_and_replay_ivf_hnsw_ms, 1)} |`,
      `| **compactIndexes() (${rp.compacted.join(", ")}) (ms)** | ${f(rp.compact_ms, 1)} |`,
      `| after compaction, fresh process: open (ms) | ${fr(rp.open_first_ivf_after_compaction, "open_ms")} |`,
      `| after compaction, fresh process: first IVF query (ms) | ${fr(rp.open_first_ivf_after_compaction, "first_ivf_query_ms")} |`,
      `| **after compaction, fresh process: open + first IVF query (ms)** | ${fr(rp.open_first_ivf_after_compaction, "open_plus_first_ivf_ms")} |`,
      `| after compaction, fresh process: later IVF query p50 (ms) | ${fr(rp.open_first_ivf_after_compaction, "ivf_query_p50_ms", 3)} |`,
      `| after compaction, fresh process: first HNSW query (ms) | ${fr(rp.open_first_ivf_after_compaction, "first_hnsw_query_ms")} |`,
    ]
  : [];
const notes = [
  "Notes:",
  `- Threads: HNSW builds and compaction inserts on 1 native thread (HnswIndex default); IVF k-means assignment on all ${os.availableParallelism()} cores; delta scans 1 thread; Flat/IVF/HNSW searches 1 thread at these sizes; onnxruntime (HTTP rows) ${os.availableParallelism()} intra-op threads (loadEmbedder default). Everything runs in this one Node process except the "fresh process" rows. Both collections are open at once and each row alternates between them rep by rep, so drift in the shared machine's load hits both sizes alike.`,
  `- Every index (exact, IVF nlist=defaultNlist, HNSW M=${M}) is built and loaded before the rows, so each write is replayed into three in-memory deltas (Flat, IVF, HNSW) as part of its latency (afterWrite syncs). Deltas are compacted (untimed) before each row; the last column counts automatic compactions inside a row (default thresholds: max(4096, 10% of the index)).`,
  `- Library adds are one addVectors call (one SQLite transaction, synchronous=FULL, one fsync) per batch. HTTP image rows include multipart parsing, JPEG decode and a ViT-B/32 (random weights, full size) forward pass per item, so they measure mostly the embedding; HTTP text items go to the text modality, which has no IVF/HNSW, so that row does not exercise the image index deltas. HTTP 1,024-item batches are not run (about 1,024 x the single-post p50).`,
  `- Bytes per single add: the store appends the vector to its tail block (${"`vblocks`"}, 64 vectors per block), rewriting that block's blob (on average half full, ~64 KiB at dim 512), and the WAL checkpoint writes those pages again; so the write volume per add is bounded by the block size and does not grow with n. No index file is written by an add (the index-files row).`,
  `- Delta replay rows: the writer process opens the n collection with compactMin = Infinity and loads no index; the readers are fresh Node processes (bench/lib/open-collection.ts, compaction off too), so "first IVF query" includes reading the IVF file and replaying every commit since it into the delta. The single-add p50 of the writer's last 500 adds vs its first 500 shows what a write costs while ${REPLAY} changes are pending and no index is loaded in the writer.`,
  `- Data: ${clusters} Gaussian clusters on the sphere, dim ${dim}, seed ${seed}; added items drawn from the same clusters with other seeds. Setup times (s):`,
  setupLine(small),
  setupLine(big),
  `- p99 is the nearest-rank 99th percentile of the reps shown (for under 100 reps it is the maximum or next to it).`,
  `- Load average at end: ${os.loadavg().map((x) => round(x, 2)).join(" ")}; whole run ${round((performance.now() - t00) / 60000, 1)} min.`,
];
const text = [
  `## write path, n = ${N} vs ${SMALL}, dim = ${dim}`,
  "",
  ...lines,
  "",
  ...singleLines,
  "",
  ...replayLines,
  "",
  ...notes,
].join("\n");
log("\n" + text);
fs.writeFileSync(path.join(outDir, `write-${N}.md`), text + "\n");
if (a.json) {
  const sizeJson = (c: Ctx) => ({ size: c.size, setup: c.setup, single: c.single });
  fs.writeFileSync(a.json, JSON.stringify({ n: N, small: SMALL, dim, m: M, nprobe, commit, threads: os.availableParallelism(), rows: table, sizes: [sizeJson(small), sizeJson(big)], replay: rp ?? null }, null, 2) + "\n");
}
