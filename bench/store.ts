/**
 * Store benchmark (issue 11): the same clipdb, through the library, on its two stores, in one run,
 * on one seeded clustered data set (n x dim, default 100k x 512) and one set of seeded queries:
 *   clipdb-SQLite    Collection.open(<folder>): Flat (exact), IVF (clipdb's), HNSW M16 (usearch)
 *   clipdb-Postgres  Collection.open(postgres://...) on PGlite + pgvector over TCP: exact pushdown
 *                    (ORDER BY embedding <#> q), pgvector HNSW and pgvector IVFFlat
 * Per store: ingest rate (addVectors in batches), index build times, exact and ANN p50/p99 and
 * recall@10 against the exact top-10 (ANN rows sweep ef / nprobe), open time (a fresh
 * Collection.open + its first query), and the ratios Postgres / SQLite at equal n.
 *
 * PGlite is Postgres compiled to WASM: one single-threaded backend. So the Postgres side runs on
 * the first --pg-n vectors of the same data (default 50,000: at 100k pgvector's IVFFlat build at
 * clipdb's default lists runs out of PGlite's WASM memory), and SQLite runs at both --pg-n (for
 * the ratios, equal data) and --n. Postgres rows also give `sql_p50_ms`: the same SQL clipdb
 * sends, timed alone on a raw connection, and the index that EXPLAIN says answers it.
 *
 * Usage: npm run bench:store -- --n 100000 [--pg-n 50000] [--json out.json] [--queries 200]
 *        [--batch 1000] [--m 16] [--efs 10,20,40,80,160] [--nprobes 1,2,4,8,16,32,64]
 *        [--clusters 100] [--seed 7] [--stores sqlite,postgres] [--pg-url postgres://...]
 * --pg-url runs the Postgres side against that server instead of starting PGlite (the collection
 * goes to schema bench_store, dropped first; CLIPDB_PG_POOL applies, default 1 against PGlite; its
 * maintenance_work_mem is the server's). --pg-maintenance-work-mem (default 1GB, or "default") is
 * set on PGlite for the index builds.
 * Writes the markdown to bench/out/store-<n>.md (and --json as asked).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { Collection, defaultNlist } from "../src/collection/index.js";
import { FlatIndex } from "../src/index/index.js";
import { startPgServer } from "../scripts/lib/pg-server.js";
import { recallAtK, syntheticClusters, syntheticQueries } from "../test/fixtures/synthetic.js";
import { quantile, round } from "./lib/stats.js";

const { values: a } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    "pg-n": { type: "string", default: "50000" },
    dim: { type: "string", default: "512" },
    queries: { type: "string", default: "200" },
    k: { type: "string", default: "10" },
    batch: { type: "string", default: "1000" },
    m: { type: "string", default: "16" },
    efs: { type: "string", default: "10,20,40,80,160" },
    nprobes: { type: "string", default: "1,2,4,8,16,32,64" },
    clusters: { type: "string", default: "100" },
    seed: { type: "string", default: "7" },
    stores: { type: "string", default: "sqlite,postgres" },
    "pg-url": { type: "string" },
    "pg-maintenance-work-mem": { type: "string", default: "1GB" },
    json: { type: "string" },
  },
});
const N = Number(a.n);
const PG_N = Math.min(N, Number(a["pg-n"]));
const dim = Number(a.dim);
const nq = Number(a.queries);
const k = Number(a.k);
const BATCH = Number(a.batch);
const M = Number(a.m);
const efs = a.efs!.split(",").map(Number);
const nprobes = a.nprobes!.split(",").map(Number);
const stores = new Set(a.stores!.split(","));
const clusters = Number(a.clusters);
const seed = Number(a.seed);
const SCHEMA = "bench_store";
const t00 = performance.now();

const outDir = path.resolve("bench/out");
fs.mkdirSync(outDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-bench-store-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const log = (s: string): void => console.log(s);
const progress = (s: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sec = (t: number): number => (performance.now() - t) / 1000;

function codeVersion(): string {
  try {
    const git = (...args: string[]): string => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "src") ? " + uncommitted changes under src/" : "");
  } catch {
    return "unknown (not a git checkout)";
  }
}
const pkgVersion = (name: string): string => {
  try {
    return (JSON.parse(fs.readFileSync(path.join("node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
};

log(`# clipdb store benchmark: SQLite n=${N} (and ${PG_N}), Postgres n=${PG_N}, dim=${dim}, queries=${nq}, k=${k}, clusters=${clusters}, seed=${seed}`);
log(`code: commit ${codeVersion()}; node ${process.version}; pg ${pkgVersion("pg")}, @electric-sql/pglite ${pkgVersion("@electric-sql/pglite")}, pglite-pgvector ${pkgVersion("@electric-sql/pglite-pgvector")}, pglite-socket ${pkgVersion("@electric-sql/pglite-socket")}`);
log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${round(os.totalmem() / 2 ** 30, 1)} GiB; load average at start ${os.loadavg().map((x) => round(x, 2)).join(" ")} (cores shared with other work)`);

// ---- data, queries, ground truth (exact top-k by FlatIndex over the first n rows)
let t = performance.now();
const { xs } = syntheticClusters({ n: N, dim, clusters, seed });
const { qs } = syntheticQueries({ n: N, dim, clusters, seed, nq });
const q = (i: number): Float32Array => qs.slice(i * dim, (i + 1) * dim);
progress(`data generated in ${round(sec(t), 1)} s`);

/** Exact top-k row numbers of every query over the first `n` rows. */
function truthOf(n: number): Uint32Array[] {
  const flat = new FlatIndex(dim);
  flat.add(Uint32Array.from({ length: n }, (_, i) => i), xs.subarray(0, n * dim));
  return Array.from({ length: nq }, (_, i) => flat.search(q(i), k).offsets);
}
const truths = new Map<number, Uint32Array[]>();
const truth = (n: number): Uint32Array[] => {
  if (!truths.has(n)) truths.set(n, truthOf(n));
  return truths.get(n)!;
};

// ---- one measured row
interface Row {
  store: "sqlite" | "postgres";
  n: number;
  op: string;
  param: string;
  /** Seconds the build (or ingest) took, where the row has one. */
  build_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  qps: number | null;
  recall10: number | null;
  /** Postgres rows: p50 of the same SQL alone on a raw connection (no library round trips). */
  sql_p50_ms: number | null;
  /** Postgres rows: the index EXPLAIN names (or "seq scan"). */
  plan: string | null;
  items_per_s?: number;
}
const rows: Row[] = [];

interface Sweep {
  index: "exact" | "ivf" | "hnsw";
  ef?: number;
  nprobe?: number;
}

/** Times nq library searches (after 3 warm-ups) and scores their recall@k against the exact top-k. */
async function timeSearches(col: Collection, n: number, s: Sweep): Promise<{ p50: number; p99: number; qps: number; recall: number }> {
  const opts = { k, index: s.index, ef: s.ef, nprobe: s.nprobe, modality: "image" as const };
  for (let i = 0; i < Math.min(3, nq); i++) await col.search({ vector: q(i) }, opts);
  const lat: number[] = [];
  let recall = 0;
  const tr = truth(n);
  const t0 = performance.now();
  for (let i = 0; i < nq; i++) {
    const t1 = performance.now();
    const r = await col.search({ vector: q(i) }, opts);
    lat.push(performance.now() - t1);
    if (r.index !== s.index) throw new Error(`asked for ${s.index}, answered by ${r.index}`);
    recall += recallAtK(r.results.map((x) => Number(x.id.slice(1))), tr[i], k);
  }
  const total = performance.now() - t0;
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), qps: (nq / total) * 1000, recall: recall / nq };
}

/**
 * A raw connection next to the library's pool: replays the SQL that src/store/pg-search.ts sends
 * for a search (same SET LOCALs, same SELECT), to time it without the library's other round trips,
 * and EXPLAINs it to name the index that answers. Only used between library calls.
 */
class RawPg {
  private constructor(private readonly c: pg.Client, private readonly vtype: string) {}

  static async connect(url: string): Promise<RawPg> {
    const c = new pg.Client({ connectionString: url.replace(/\?.*$/, "") });
    c.on("error", () => undefined); // a server that goes away fails the next query instead
    await c.connect();
    const ext = await c.query<{ s: string }>("SELECT n.nspname AS s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'");
    return new RawPg(c, ext.rows[0] ? `"${ext.rows[0].s}".vector` : "vector");
  }

  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.c.query<R>(text, values);
  }

  private sql(s: Sweep): { sets: string[]; select: string } {
    const sets: string[] = [];
    let order = `embedding <#> $1::${this.vtype}, "offset"`;
    if (s.index === "hnsw") {
      sets.push(`SET LOCAL hnsw.ef_search = ${Math.max(k, s.ef ?? 64)}`);
      order = `embedding <#> $1::${this.vtype}`;
    } else if (s.index === "ivf") {
      sets.push(`SET LOCAL ivfflat.probes = ${Math.max(1, s.nprobe ?? 16)}`);
      order = `embedding <#> $1::${this.vtype}`;
    }
    return { sets, select: `SELECT "offset", -(embedding <#> $1::${this.vtype}) AS score FROM "${SCHEMA}".items WHERE modality = 'image' ORDER BY ${order} LIMIT $2` };
  }

  /** The index EXPLAIN names for the search (or "seq scan"). */
  async plan(s: Sweep): Promise<string> {
    const { sets, select } = this.sql(s);
    await this.c.query("BEGIN");
    try {
      for (const x of sets) await this.c.query(x);
      const r = await this.c.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${select}`, [`[${Array.from(q(0)).join(",")}]`, k]);
      const names: string[] = [];
      const walk = (node: Record<string, unknown>): void => {
        if (typeof node["Index Name"] === "string") names.push(node["Index Name"]);
        for (const p of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(p);
      };
      walk(((r.rows[0]["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]).Plan);
      return names.length ? names.join("+") : "seq scan";
    } finally {
      await this.c.query("ROLLBACK");
    }
  }

  /** p50 of the search's SQL alone (BEGIN, SET LOCAL, SELECT, COMMIT, as clipdb runs it), over `count` queries. */
  async timeSql(s: Sweep, count: number): Promise<number> {
    const { sets, select } = this.sql(s);
    const lat: number[] = [];
    for (let i = 0; i < count; i++) {
      const v = `[${Array.from(q(i)).join(",")}]`;
      const t1 = performance.now();
      await this.c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      for (const x of sets) await this.c.query(x);
      await this.c.query(select, [v, k]);
      await this.c.query("COMMIT");
      lat.push(performance.now() - t1);
    }
    return quantile(lat, 0.5);
  }

  /** p50 of `sql` alone, over `count` runs. */
  async timeQuery(sql: string, count: number): Promise<number> {
    const lat: number[] = [];
    for (let i = 0; i < count; i++) {
      const t1 = performance.now();
      await this.c.query(sql);
      lat.push(performance.now() - t1);
    }
    return quantile(lat, 0.5);
  }

  end(): Promise<void> {
    return this.c.end();
  }
}

/**
 * One store at one size, through the library: create + ingest, exact searches, IVF build + sweep,
 * HNSW build + sweep, then fresh opens + first query. On Postgres the IVFFlat index is dropped
 * before HNSW is built: both are partial indexes over the same column and predicate, and pgvector
 * leaves the choice between them to the planner (EXPLAIN shows which one answers).
 */
async function runStore(store: "sqlite" | "postgres", location: string, n: number, raw?: RawPg): Promise<Record<string, number>> {
  const setup: Record<string, number> = {};
  const label = `${store} n=${n}`;
  const push = async (op: string, param: string, build: number | null, s: Sweep): Promise<void> => {
    const r = await timeSearches(col, n, s);
    let sql: number | null = null;
    let plan: string | null = null;
    if (raw) {
      plan = await raw.plan(s);
      sql = await raw.timeSql(s, Math.min(nq, 50));
    }
    rows.push({ store, n, op, param, build_s: build, p50_ms: r.p50, p99_ms: r.p99, qps: r.qps, recall10: r.recall, sql_p50_ms: sql, plan });
    progress(`${label}: ${op} ${param}: p50 ${round(r.p50, 3)} ms, recall@10 ${round(r.recall, 3)}${sql === null ? "" : `, sql alone ${round(sql, 3)} ms via ${plan}`}`);
  };

  let t1 = performance.now();
  let col = await Collection.open(location);
  setup.create_open_s = sec(t1);
  t1 = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const e = Math.min(n, i + BATCH);
    const s = await col.addVectors({ vectors: xs.subarray(i * dim, e * dim), dim, ids: Array.from({ length: e - i }, (_, j) => `v${i + j}`), modality: "image" });
    if (s.added !== e - i) throw new Error(`${label}: added ${s.added} of ${e - i}`);
    if ((e / BATCH) % 10 === 0 || e === n) progress(`${label}: ingested ${e}/${n} (${round(e / sec(t1), 0)} items/s)`);
  }
  const ingest = sec(t1);
  rows.push({ store, n, op: "ingest", param: `addVectors, batches of ${BATCH}`, build_s: ingest, p50_ms: null, p99_ms: null, qps: null, recall10: null, sql_p50_ms: null, plan: null, items_per_s: n / ingest });

  if (raw) {
    // every library search on Postgres first counts the modality's items (the planner's size rule)
    const sql = `SELECT (SELECT count(*) FROM "${SCHEMA}".items WHERE modality = 'image') AS images, (SELECT count(*) FROM "${SCHEMA}".items WHERE modality = 'text') AS texts, (SELECT count(*) FROM "${SCHEMA}".pairs) AS pairs`;
    const ms = await raw.timeQuery(sql, 20);
    rows.push({ store, n, op: "counts", param: "store.counts(), run by every library search", build_s: null, p50_ms: ms, p99_ms: null, qps: null, recall10: null, sql_p50_ms: ms, plan: null });
    progress(`${label}: counts() alone ${round(ms, 3)} ms`);
  }
  await push("exact", store === "sqlite" ? "Flat (SIMD scan)" : "ORDER BY embedding <#> q", null, { index: "exact" });

  const nlist = defaultNlist(n);
  t1 = performance.now();
  await col.buildIndex({ type: "ivf" });
  const ivfBuild = sec(t1);
  progress(`${label}: IVF (nlist ${nlist}) built in ${round(ivfBuild, 1)} s`);
  for (const nprobe of nprobes.filter((p) => p <= nlist)) await push("ivf", `${store === "sqlite" ? "IVF" : "IVFFlat lists="}${nlist}, nprobe=${nprobe}`, ivfBuild, { index: "ivf", nprobe });

  if (store === "postgres") {
    // open + first IVF query, before the IVFFlat index goes
    await col.close();
    t1 = performance.now();
    col = await Collection.open(location, { create: false });
    const o = sec(t1) * 1000;
    const t2 = performance.now();
    await col.search({ vector: q(0) }, { k, index: "ivf", nprobe: 8, modality: "image" });
    rows.push(openRow(store, n, "ivf", o, (performance.now() - t2)));
    await col.dropIndex("ivf");
  }

  t1 = performance.now();
  await col.buildIndex({ type: "hnsw", m: M });
  const hnswBuild = sec(t1);
  progress(`${label}: HNSW M=${M} built in ${round(hnswBuild, 1)} s`);
  for (const ef of efs) await push("hnsw", `${store === "sqlite" ? "HNSW" : "pgvector HNSW"} M=${M}, efC=64, ef=${ef}`, hnswBuild, { index: "hnsw", ef });
  await col.close();

  // a fresh Collection.open + its first query, per index (in this process: the module is loaded,
  // the OS page cache holds the SQLite files, PGlite's buffers are warm)
  for (const index of store === "sqlite" ? (["exact", "ivf", "hnsw"] as const) : (["exact", "hnsw"] as const)) {
    t1 = performance.now();
    const c = await Collection.open(location, { create: false });
    const o = sec(t1) * 1000;
    const t2 = performance.now();
    await c.search({ vector: q(0) }, { k, index, nprobe: 8, ef: 40, modality: "image" });
    rows.push(openRow(store, n, index, o, performance.now() - t2));
    await c.close();
  }
  return setup;
}

function openRow(store: "sqlite" | "postgres", n: number, index: string, openMs: number, firstMs: number): Row {
  progress(`${store} n=${n}: open ${round(openMs, 1)} ms + first ${index} query ${round(firstMs, 1)} ms`);
  return { store, n, op: "open", param: `Collection.open + first ${index} query (open ${round(openMs, 1)} ms + query ${round(firstMs, 1)} ms)`, build_s: null, p50_ms: openMs + firstMs, p99_ms: null, qps: null, recall10: null, sql_p50_ms: null, plan: null };
}

// ---- SQLite at PG_N (for the ratios) and at N
if (stores.has("sqlite")) {
  for (const n of PG_N === N ? [N] : [PG_N, N]) await runStore("sqlite", path.join(tmp, `sqlite-${n}`), n);
}

// ---- Postgres (PGlite in a child process, over TCP, unless --pg-url)
let pgInfo = "";
if (stores.has("postgres")) {
  let server: Awaited<ReturnType<typeof startPgServer>> | undefined;
  let base = a["pg-url"];
  if (!base) {
    t = performance.now();
    server = await startPgServer({ dir: path.join(tmp, "pgdata") });
    progress(`PGlite started in ${round(sec(t), 1)} s at ${server.url} (pid ${server.pid})`);
    base = server.url;
    process.env.CLIPDB_PG_POOL ??= "1";
  }
  try {
    const raw = await RawPg.connect(base);
    await raw.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    // Index builds need memory: pgvector's IVFFlat build fails below what its k-means needs
    // (20k x 512 at clipdb's default 512 lists: 94 MB, over the default 64 MB), and an HNSW build
    // slows down once its graph outgrows maintenance_work_mem. An operator raises it on a real
    // server (postgresql.conf); PGlite has one backend session that every connection shares, so a
    // session SET applies to clipdb's pool too. "default" leaves the server's value.
    const mwm = a["pg-maintenance-work-mem"]!;
    if (server && mwm !== "default") await raw.query(`SET maintenance_work_mem = '${mwm.replace(/'/g, "")}'`);
    const v = await raw.query<{ v: string; x: string | null; mwm: string }>(
      "SELECT version() AS v, (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS x, current_setting('maintenance_work_mem') AS mwm",
    );
    pgInfo = `${v.rows[0].v.split(" on ")[0].split(",")[0]}, pgvector ${v.rows[0].x}, maintenance_work_mem ${v.rows[0].mwm}, clipdb pool ${process.env.CLIPDB_PG_POOL ?? 10}${server ? `, PGlite served by pglite-socket in a child process (pid ${server.pid})` : ""}`;
    log(`postgres: ${pgInfo}`);
    const url = `${base}${base.includes("?") ? "&" : "?"}schema=${SCHEMA}`;
    await runStore("postgres", url, PG_N, raw);
    const size = await raw.query<{ b: string }>(`SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS b FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind = 'r'`, [SCHEMA]);
    pgInfo += `; collection on the server: ${size.rows[0].b}`;
    await raw.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await raw.end();
  } finally {
    await server?.stop();
  }
}

// ---- report
const f = (x: number | null | undefined, d = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? "" : round(x, d).toString());
const head = "| store | n | op | param | build_s | items/s | p50_ms | p99_ms | qps | recall@10 | sql_p50_ms | plan |";
const sep = "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|";
const line = (r: Row): string => `| ${r.store} | ${r.n} | ${r.op} | ${r.param} | ${f(r.build_s, 1)} | ${f(r.items_per_s, 0)} | ${f(r.p50_ms)} | ${f(r.p99_ms)} | ${f(r.qps, 1)} | ${f(r.recall10)} | ${f(r.sql_p50_ms)} | ${r.plan ?? ""} |`;
const table = [head, sep, ...rows.map(line)].join("\n");

// ratios Postgres / SQLite at equal n: ingest time per item, exact p50, build times, and each
// ANN kind's p50 at the first setting reaching recall@10 >= 0.95 (else its best recall)
const at = (store: string, op: string, n = PG_N): Row[] => rows.filter((r) => r.store === store && r.op === op && r.n === n);
const first95 = (rs: Row[]): Row | undefined => rs.find((r) => (r.recall10 ?? 0) >= 0.95) ?? [...rs].sort((x, y) => (y.recall10 ?? 0) - (x.recall10 ?? 0))[0];
const ratio = (x: number | null | undefined, y: number | null | undefined): string => (x && y && Number.isFinite(x) && Number.isFinite(y) ? `${round(x / y, 2)}x` : "n/a");
const ratios: string[] = [];
const ratioJson: Record<string, number | null> = {};
if (at("sqlite", "ingest").length && at("postgres", "ingest").length) {
  const rr = (name: string, p: Row | undefined, s: Row | undefined, key: "p50_ms" | "build_s", what: string): void => {
    const x = p?.[key];
    const y = s?.[key];
    ratioJson[name] = x && y ? round(x / y, 3) : null;
    ratios.push(`| ${what} | ${f(y)} | ${f(x)} | ${ratio(x, y)} |`);
  };
  ratios.push(`| at n = ${PG_N} | SQLite | Postgres (PGlite) | Postgres / SQLite |`, "|---|---:|---:|---:|");
  rr("ingest_time", at("postgres", "ingest")[0], at("sqlite", "ingest")[0], "build_s", "ingest time (s; inverse of items/s)");
  rr("exact_p50", at("postgres", "exact")[0], at("sqlite", "exact")[0], "p50_ms", "exact p50 (ms)");
  rr("ivf_build", at("postgres", "ivf")[0], at("sqlite", "ivf")[0], "build_s", "IVF build (s)");
  rr("hnsw_build", at("postgres", "hnsw")[0], at("sqlite", "hnsw")[0], "build_s", "HNSW build (s)");
  for (const op of ["ivf", "hnsw"]) {
    const p = first95(at("postgres", op));
    const s = first95(at("sqlite", op));
    rr(`${op}_p50_at_recall95`, p, s, "p50_ms", `${op} p50 (ms) at the first setting with recall@10 >= 0.95 (SQLite ${s?.param.split(", ").pop()} ${f(s?.recall10)}, Postgres ${p?.param.split(", ").pop()} ${f(p?.recall10)})`);
  }
  const oe = (st: string, idx: string): Row | undefined => at(st, "open").find((r) => r.param.includes(`first ${idx} query`));
  rr("open_first_exact", oe("postgres", "exact"), oe("sqlite", "exact"), "p50_ms", "open + first exact query (ms)");
  rr("open_first_hnsw", oe("postgres", "hnsw"), oe("sqlite", "hnsw"), "p50_ms", "open + first HNSW query (ms)");
}
const notes = [
  "Notes:",
  `- Threads. SQLite side, in this Node process: Flat searches on ${"auto"} native threads (1 below 16 MiB of vectors, else min(4, cores) = ${Math.min(4, os.availableParallelism())}: ${PG_N * dim * 4 >= 16 * 2 ** 20 ? "multi-threaded" : "1 thread"} at ${PG_N}, ${N * dim * 4 >= 16 * 2 ** 20 ? "multi-threaded" : "1 thread"} at ${N}), IVF and HNSW searches 1 thread, IVF k-means on all ${os.availableParallelism()} cores, HNSW build 1 thread (usearch#735). Postgres side: PGlite is one single-threaded WASM backend in a child process (no parallel workers, no parallel index builds), reached over loopback TCP by the pg driver in this process; clipdb's pool has ${process.env.CLIPDB_PG_POOL ?? "10"} connection(s).`,
  `- Postgres runs at n = ${PG_N}${PG_N < N ? ` (--pg-n; the first ${PG_N} rows of the same data), not ${N}: PGlite is single-threaded WASM (an exact query scans at one core's WASM speed), and at 100k pgvector's IVFFlat build with clipdb's default lists (defaultNlist = 1,265) ran out of PGlite's WASM memory even with maintenance_work_mem 1.5 GB (measured separately on this machine). The ratios compare it with SQLite at the same ${PG_N}` : ""}. Postgres: ${pgInfo || "not run"}.`,
  `- Every search goes through the library (Collection.search, k=${k}, modality image, ${nq} seeded queries from the same clusters, 3 untimed warm-ups). recall@10 is against the exact top-${k} of a FlatIndex over the same rows; the exact rows check the stores' exact search against it. On Postgres a library search is several round trips (model and settings reads, index list, count, BEGIN/SET LOCAL/SELECT/COMMIT, the hits' records), each its own transaction; sql_p50_ms is the search's own SQL (BEGIN, SET LOCAL, SELECT, COMMIT) on a raw connection (${Math.min(nq, 50)} queries), and plan is the index EXPLAIN names for it.`,
  `- maintenance_work_mem is raised to ${a["pg-maintenance-work-mem"]} for the index builds (--pg-maintenance-work-mem; "default" keeps 64 MB, with which the IVFFlat build fails already at 20k: it needs 94 MB there, and HNSW builds slow down once the graph no longer fits).`,
  `- Ingest: Collection.addVectors in batches of ${BATCH} (one transaction per batch; importVectors also looks each id up first, which on Postgres is one round trip per row). IVF: nlist = defaultNlist(n) (clipdb's IVF: k-means; pgvector: IVFFlat lists, trained on the rows present). HNSW: M=${M}, ef_construction 64 on both. On Postgres the IVFFlat index is dropped before HNSW is built (both are partial indexes on the same column and predicate, and with both the planner picks one by cost, not by the query's SET LOCAL: measured at 20k, an HNSW query at ef_search 160 was planned on the IVFFlat index).`,
  `- Open rows: a fresh Collection.open in this process (modules loaded, OS page cache and PGlite buffers warm) plus its first query (nprobe 8, ef 40): SQLite's first exact query reads every vector into memory, its first IVF/HNSW query loads that index file; Postgres's open connects, checks the extension and schema, and its first query is one pushed-down search.`,
  `- p99 is the nearest-rank 99th percentile of ${nq} queries. Data: ${clusters} Gaussian clusters on the sphere, dim ${dim}, seed ${seed}. Load average at end: ${os.loadavg().map((x) => round(x, 2)).join(" ")}; whole run ${round((performance.now() - t00) / 60000, 1)} min.`,
];
const text = [`## store benchmark: SQLite n = ${N}${PG_N < N ? ` and ${PG_N}` : ""}, Postgres (PGlite) n = ${PG_N}, dim = ${dim}, ${nq} queries, k = ${k}`, "", table, "", ...(ratios.length ? ["Ratios, Postgres / SQLite:", "", ...ratios, ""] : []), ...notes].join("\n");
log("\n" + text);
fs.writeFileSync(path.join(outDir, `store-${N}.md`), text + "\n");
if (a.json) {
  const clean = rows.map((r) => Object.fromEntries(Object.entries(r).map(([key, v]) => [key, typeof v === "number" ? round(v, 4) : v])));
  fs.writeFileSync(a.json, JSON.stringify({ n: N, pg_n: PG_N, dim, k, queries: nq, batch: BATCH, m: M, threads: os.availableParallelism(), postgres: pgInfo, rows: clean, ratios: ratioJson }, null, 2) + "\n");
}
