import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { ModalityIndexes, PlanIndex } from "./plan.js";
import { hitAtK, percentile, recallAtK, recallVsExact } from "./metrics.js";
import { paramOf } from "./kinds.js";

/** A retrieval direction: captions query images (t2i) or images query captions (i2t). */
export type Direction = "t2i" | "i2t";

/** What to evaluate. */
export interface EvalConfig {
  /** Default ["t2i", "i2t"]. */
  directions: Direction[];
  /** Recall@K cut-offs; default [1, 5, 10]. */
  ks: number[];
  /** hit@k cut-offs (the seed study's measure); default [1, 10, 100, 1000]. */
  hitKs: number[];
  /** Indexes evaluated, by kind name ("ivf", "hnsw"; see kinds.ts); exact always runs, as the reference. */
  indexes: string[];
  /** Settings swept for kinds whose parameter is nprobe (IVF); default [1, 2, 4, 8, 16, 32]. */
  nprobes: number[];
  /** Settings swept for kinds whose parameter is ef (HNSW); default [16, 32, 64, 128]. */
  efs: number[];
  /** Queries per direction, the first by offset; default all. Fewer is faster and noisier. */
  limit?: number;
}

/**
 * The data an evaluation reads: indexes per modality (in memory, or a store's pushed-down ones,
 * such as pgvector's on Postgres), stored vectors, and the pairs (ground truth).
 */
export interface EvalData {
  sets: Map<Modality, ModalityIndexes>;
  vectorOf: (offset: number) => Float32Array;
  pairs: { image: Uint32Array; text: Uint32Array };
  dim: number;
}

/** One evaluated setting: recall figures, latency and cost. */
export interface EvalRow {
  [metric: string]: number;
}

/**
 * Results of one direction: `queries`, the `exact` row, and one list of rows per evaluated kind
 * under its name (`ivf`, `hnsw`), each row led by its setting (`{ nprobe: 8, ... }`). Empty when
 * the kind is not built. Read a kind's rows with `rowsOf`.
 */
export type DirectionReport = { queries: number; exact: EvalRow } & { [kind: string]: EvalRow[] | EvalRow | number };

/** The rows of kind `name` in a direction's report (empty when it was not evaluated). */
export function rowsOf(d: DirectionReport, name: string): EvalRow[] {
  const rows = d[name];
  return Array.isArray(rows) ? rows : [];
}

/** The sweep of a parameter key in a config: nprobes for nprobe, efs for ef. */
export function sweepOf(cfg: EvalConfig, key: "nprobe" | "ef"): number[] {
  return key === "nprobe" ? cfg.nprobes : cfg.efs;
}

/** The whole report; `t2i` / `i2t` present when evaluated. */
export interface EvalReport {
  n_images: number;
  n_texts: number;
  dim: number;
  t2i?: DirectionReport;
  i2t?: DirectionReport;
}

/** Default configuration, as `clipdb eval` documents it. */
export const DEFAULT_EVAL: EvalConfig = {
  directions: ["t2i", "i2t"],
  ks: [1, 5, 10],
  hitKs: [1, 10, 100, 1000],
  indexes: ["exact", "ivf", "hnsw"],
  nprobes: [1, 2, 4, 8, 16, 32],
  efs: [16, 32, 64, 128],
};

/** Queries of a direction and, for each, the set of offsets that count as correct. */
export function groundTruth(pairs: EvalData["pairs"], dir: Direction, limit?: number): { queries: number[]; truth: Set<number>[] } {
  const by = new Map<number, Set<number>>();
  for (let i = 0; i < pairs.image.length; i++) {
    const [q, t] = dir === "t2i" ? [pairs.text[i], pairs.image[i]] : [pairs.image[i], pairs.text[i]];
    let s = by.get(q);
    if (!s) by.set(q, (s = new Set()));
    s.add(t);
  }
  const queries = [...by.keys()].sort((a, b) => a - b).slice(0, limit ?? Infinity);
  return { queries, truth: queries.map((q) => by.get(q)!) };
}

interface Pass {
  ranked: Uint32Array[];
  ms: number[];
  /** Vectors scored over all queries; undefined when the index does not report it (HNSW graph search). */
  scanned?: number;
}

/**
 * One pass of the queries over an index. An in-memory index is timed around its synchronous call
 * alone; a pushed-down one (a promise) around the whole round trip, as its searches cost.
 */
async function runPass(index: PlanIndex, qs: Float32Array[], k: number, opts: { nprobe?: number; ef?: number }, timed: boolean): Promise<Pass> {
  const warm = Math.min(qs.length, 5);
  if (timed) for (let i = 0; i < warm; i++) await index.search(qs[i], k, opts);
  const ranked: Uint32Array[] = [];
  const ms: number[] = [];
  let scanned: number | undefined;
  for (const q of qs) {
    const t0 = performance.now();
    const got = index.search(q, k, opts);
    const hits = got instanceof Promise ? await got : got;
    ms.push(performance.now() - t0);
    ranked.push(hits.offsets);
    if (hits.scanned !== undefined) scanned = (scanned ?? 0) + hits.scanned;
  }
  return { ranked, ms, scanned };
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Resident bytes of an index that reports them (`residentBytes`: Flat, IVF-Flat and the compressed
 * kinds; also through a DeltaIndex's `base`), else undefined (HNSW, pgvector).
 */
function residentBytesOf(index: unknown): number | undefined {
  const own = (index as { residentBytes?: number }).residentBytes;
  return own ?? (index as { base?: { residentBytes?: number } }).base?.residentBytes;
}

/**
 * Evaluates exact search and every setting of each evaluated kind (IVF, HNSW, …) on the collection's pairs, per direction.
 * Latency is timed on a pass with k = max(ks); hit@k uses a second, untimed pass with
 * k = max(hitKs) when that is larger (for HNSW that pass searches with ef >= k, so its hit@k is
 * measured at a larger ef than the row's). Cost per query (`scanned_frac`) is the mean fraction of
 * the target modality's vectors scored; it is left out where the index does not report it (HNSW).
 * `bytes_per_vector`: the index's resident bytes per vector, where it reports them (not HNSW). Throws INVALID_ARGUMENT when there are no pairs.
 */
export async function evaluate(data: EvalData, cfg: EvalConfig): Promise<EvalReport> {
  if (data.pairs.image.length === 0) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "collection", reason: "it has no image-caption pairs to evaluate", hint: "Add images with captions (--captions or sidecar .txt files), or import texts with --pair-ids." });
  }
  const nImages = data.sets.get("image")?.flat.size ?? 0;
  const nTexts = data.sets.get("text")?.flat.size ?? 0;
  const report: EvalReport = { n_images: nImages, n_texts: nTexts, dim: data.dim };
  const kTimed = Math.max(...cfg.ks, 10);
  for (const dir of cfg.directions) {
    const target: Modality = dir === "t2i" ? "image" : "text";
    const set = data.sets.get(target)!;
    const n = set.flat.size;
    const { queries, truth } = groundTruth(data.pairs, dir, cfg.limit);
    const qs = queries.map((o) => data.vectorOf(o));
    const kHit = Math.min(Math.max(...cfg.hitKs, 0), n);
    const measure = async (index: PlanIndex, opts: { nprobe?: number; ef?: number }, exact?: Pass): Promise<{ row: EvalRow; pass: Pass }> => {
      const pass = await runPass(index, qs, Math.min(kTimed, n), opts, true);
      const deep = kHit > kTimed ? (await runPass(index, qs, kHit, opts, false)).ranked : pass.ranked;
      const row: EvalRow = {};
      for (const k of cfg.ks) row[`R@${k}`] = round(recallAtK(pass.ranked, truth, k));
      for (const k of cfg.hitKs) row[`hit@${k}`] = round(hitAtK(deep, truth, k));
      row.ms_p50 = round(percentile(pass.ms, 50));
      row.ms_p99 = round(percentile(pass.ms, 99));
      if (pass.scanned !== undefined) row.scanned_frac = round(pass.scanned / Math.max(1, qs.length) / Math.max(1, n));
      const resident = residentBytesOf(index);
      if (resident !== undefined && n > 0) row.bytes_per_vector = round(resident / n, 1);
      if (exact) {
        row["recall_vs_exact@10"] = round(recallVsExact(pass.ranked, exact.ranked, 10));
        row.speedup = round(percentile(exact.ms, 50) / Math.max(row.ms_p50, 1e-6), 2);
      }
      return { row, pass };
    };
    const ex = await measure(set.flat, {});
    const d: DirectionReport = { queries: queries.length, exact: ex.row };
    for (const name of cfg.indexes) {
      const param = paramOf(name);
      if (name === "exact" || !param) continue;
      const rows: EvalRow[] = [];
      const idx = set.ann[name];
      if (idx) for (const v of sweepOf(cfg, param.key)) rows.push({ [param.key]: v, ...(await measure(idx, { [param.key]: v }, ex.pass)).row });
      d[name] = rows;
    }
    report[dir] = d;
  }
  return report;
}
