import { ClipdbError } from "../core/errors.js";
import { scanListed } from "../core/cost.js";
import { OffsetFilter } from "../core/filter.js";
import type { Hits, Modality, SearchOptions, VectorIndex } from "../core/types.js";
import { annNames } from "./kinds.js";

/** Which index answers a query: "exact", or the name of a registered kind ("ivf", "hnsw"; see kinds.ts). */
export type IndexKind = string;

/**
 * Which index a query asks for: one kind, or "auto" (the default): per modality, the built kind
 * of lowest auto rank (HNSW, else IVF) once the modality holds more than AUTO_EXACT_BELOW vectors, exact below that
 * and when none is built, as Qdrant's `full_scan_threshold`.
 */
export type IndexChoice = IndexKind | "auto";

/**
 * Modalities holding at most this many vectors are searched exactly under "auto"; default 10,000.
 * Measured with `npm run bench:auto` (512-d clustered data, 1 thread, dev VM): exact takes 0.52 ms
 * at 10k against 0.06 ms for HNSW (recall@10 0.999) and 0.13 ms for IVF; 1.23 ms against 0.10 ms
 * at 20k; 3.2 ms against 0.19 ms (recall 0.986) at 50k. Below 10k an ANN index saves under half a
 * millisecond per query and costs exactness, so exact wins. Raising it trades latency for exactness.
 */
export const AUTO_EXACT_BELOW = 10_000;

/**
 * An index that may need an async step before `size` or `search` work (the collection's exact
 * index counts or reads the store's vectors on first use): `prepare(false)` makes `size` right,
 * `prepare(true)` makes `search` work.
 */
export type PreparedIndex<I = VectorIndex> = I & { prepare?(load: boolean): Promise<void> };

/**
 * What the planner needs of an index: its size, and a search that may be answered elsewhere (a
 * store that pushes search down to its server answers asynchronously).
 */
export interface PlanIndex {
  readonly size: number;
  search(q: Float32Array, k: number, opts?: SearchOptions): Hits | Promise<Hits>;
}

/** The indexes of one modality: the exact index always, and the built kinds by name ("ivf", "hnsw"). */
export interface IndexesOf<I> {
  flat: PreparedIndex<I>;
  ann: Partial<Record<string, I>>;
}

/** What a query plan runs on (in-memory indexes, or a store's pushed-down ones). */
export type ModalityIndexes = IndexesOf<PlanIndex>;

/** In-memory indexes, searched synchronously (evaluation and tuning time them query by query). */
export type LocalIndexes = IndexesOf<VectorIndex>;

/** One planned query over one or both modalities. */
export interface PlanInput {
  /** The L2-normalised query vector. */
  q: Float32Array;
  /** Results wanted; must be >= 1. */
  k: number;
  /** Modalities searched, in order; results are merged by score. */
  modalities: Modality[];
  /** Requested index; "exact" and "auto" always work, a kind's name ("ivf", "hnsw") needs that index built. */
  index: IndexChoice;
  nprobe?: number;
  ef?: number;
  /** Allowed offsets per modality from a metadata filter; absent means no filter. */
  candidates?: Map<Modality, Uint32Array>;
  /** Offsets to skip (for item->item, the query item itself). */
  exclude?: number;
}

/** A planned and executed search: merged hits, the index that answered, and vectors scored. */
export interface PlanResult {
  hits: { offset: number; score: number; modality: Modality }[];
  index: IndexKind;
  scanned: number;
}

/**
 * Runs one query: picks the index per modality (exact when a filter leaves few candidates or the
 * modality holds few vectors), searches, and merges the modalities' hits by score (ties by offset).
 * Throws INDEX_NOT_BUILT when an approximate index is asked for and none of the searched
 * modalities has one; with several modalities, those without it are searched exactly.
 */
export async function runPlan(indexes: Map<Modality, ModalityIndexes>, p: PlanInput): Promise<PlanResult> {
  if (!Number.isInteger(p.k) || p.k < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "k", reason: `must be a positive integer, got ${p.k}` });
  const merged: PlanResult["hits"] = [];
  let scanned = 0;
  let answered: IndexKind = "exact";
  // Over several modalities, an index asked for by name must exist for one of them at least; the
  // others (say, a few texts added after the image index was built) are searched exactly.
  const want = p.index;
  const named = want === "exact" || want === "auto" ? undefined : want;
  const some = named !== undefined && p.modalities.some((m) => indexes.get(m)?.ann[named]);
  for (const modality of p.modalities) {
    const set = indexes.get(modality);
    if (!set) continue;
    await set.flat.prepare?.(false);
    if (set.flat.size === 0) continue;
    const cands = p.candidates?.get(modality);
    if (cands && cands.length === 0) continue;
    const fallback = named !== undefined && p.modalities.length > 1 && some && !set.ann[named];
    const { index, kind } = chooseIndex(set, modality, fallback ? "exact" : want, cands);
    if (index === set.flat) await set.flat.prepare?.(true);
    if (kind !== "exact") answered = kind;
    const filter = cands ? OffsetFilter.of(cands).without(p.exclude) : p.exclude !== undefined ? OffsetFilter.except(p.exclude) : undefined;
    const opts: SearchOptions = { nprobe: p.nprobe, ef: p.ef, filter };
    const hits = await index.search(p.q, p.k, opts);
    scanned += hits.scanned ?? 0;
    for (let i = 0; i < hits.offsets.length; i++) merged.push({ offset: hits.offsets[i], score: hits.scores[i], modality });
  }
  merged.sort((a, b) => b.score - a.score || a.offset - b.offset);
  return { hits: merged.slice(0, p.k), index: answered, scanned };
}

function chooseIndex(
  set: ModalityIndexes,
  modality: Modality,
  want: IndexChoice,
  cands: Uint32Array | undefined,
): { index: PlanIndex; kind: IndexKind } {
  if (want === "exact") return { index: set.flat, kind: "exact" };
  if (want === "auto") {
    const kind = annNames().find((n) => set.ann[n]);
    if (kind === undefined || set.flat.size <= AUTO_EXACT_BELOW || (cands && scanListed(cands.length, 0))) return { index: set.flat, kind: "exact" };
    return { index: set.ann[kind]!, kind };
  }
  const ann = set.ann[want];
  if (!ann) throw new ClipdbError("INDEX_NOT_BUILT", { type: want, modality });
  if (cands && scanListed(cands.length, 0)) return { index: set.flat, kind: "exact" };
  return { index: ann, kind: want };
}
