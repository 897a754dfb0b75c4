import type { Hits, Modality, SearchOptions } from "../core/types.js";
import { ClipdbError } from "../core/errors.js";
import type { IndexChoice, LocalIndexes, ModalityIndexes, PlanIndex } from "../query/index.js";
import type { PgCollectionStore } from "../store/index.js";
import type { IndexStatus } from "./types.js";
import { LazyFlat, countOf } from "./lazy-flat.js";
import type { BuildOptions } from "./index-build.js";

const MODALITIES: Modality[] = ["image", "text"];

/** pgvector's advice for IVFFlat lists: rows / 1000 up to 1M rows, √rows above, at least 1. */
export function pgvectorLists(n: number): number {
  return Math.max(1, Math.round(n <= 1_000_000 ? n / 1000 : Math.sqrt(n)));
}

/**
 * One modality's search on the Postgres server: exact (`ORDER BY embedding <#> q`), or through
 * its pgvector HNSW or IVFFlat index. Filters travel as `candidates` and `exclude` (SQL), not as
 * the `allow` callback, which only in-memory indexes can call.
 */
class RemoteIndex implements PlanIndex {
  size = 0;
  private counted = false;

  constructor(
    private readonly store: PgCollectionStore,
    private readonly modality: Modality,
    private readonly kind: "exact" | "hnsw" | "ivf",
  ) {}

  /** Counts the modality's items, once per search (the planner's exact-below-a-size rule reads `size`). */
  async prepare(): Promise<void> {
    if (this.counted) return;
    this.size = await countOf(this.store, this.modality);
    this.counted = true;
  }

  search(q: Float32Array, k: number, opts: SearchOptions = {}): Promise<Hits> {
    return this.store.searchVectors(q, k, { modality: this.modality, index: this.kind, ef: opts.ef, probes: opts.nprobe, candidates: opts.candidates, exclude: opts.exclude });
  }
}

/**
 * The indexes of a collection on Postgres, all on the server: nothing is held in memory between
 * queries, so every API server over one database sees every write and build at its next query.
 * Approximate kinds are pgvector's HNSW and IVFFlat, one partial index per modality, built by
 * `build` (`clipdb index build --type hnsw|ivf`). There is nothing to compact or clean.
 * Evaluation and tuning, which time in-memory indexes query by query, read the vectors into
 * memory (`all`, `withTransient`).
 */
export class PgIndexes {
  constructor(private readonly store: PgCollectionStore) {}

  async clean(): Promise<string[]> {
    return [];
  }

  async sync(): Promise<void> {}

  async forSearch(kind: IndexChoice, modalities: Modality[]): Promise<Map<Modality, ModalityIndexes>> {
    const built = await this.store.vectorIndexes();
    const out = new Map<Modality, ModalityIndexes>();
    for (const m of modalities) {
      const set: ModalityIndexes = { flat: new RemoteIndex(this.store, m, "exact") };
      for (const t of ["ivf", "hnsw"] as const) if (built.some((b) => b.type === t && b.modality === m)) set[t] = new RemoteIndex(this.store, m, t);
      out.set(m, set);
    }
    if ((kind === "ivf" || kind === "hnsw") && !built.some((b) => b.type === kind && modalities.includes(b.modality))) {
      throw new ClipdbError("INDEX_NOT_BUILT", { type: kind, modality: modalities.length === 1 ? modalities[0] : undefined });
    }
    return out;
  }

  async all(): Promise<Map<Modality, LocalIndexes>> {
    const model = await this.store.model();
    const out = new Map<Modality, LocalIndexes>();
    if (!model) return out;
    for (const m of MODALITIES) {
      const flat = new LazyFlat(this.store, m, model.dim);
      await flat.prepare(true);
      out.set(m, { flat });
    }
    return out;
  }

  /**
   * Builds the pgvector index of `opts.type` per modality. IVFFlat lists: `nlist`, default
   * pgvector's advice (rows / 1000 up to 1M rows, √rows above; at least 1): fewer lists than
   * clipdb's own IVF, since an IVFFlat build holds every list's sample in maintenance_work_mem
   * (1,265 lists over 100k × 512 did not fit PGlite's memory; 316 built in 14 s).
   */
  async build(opts: BuildOptions): Promise<IndexStatus[]> {
    if (!(await this.store.model())) return [];
    for (const modality of opts.modalities ?? MODALITIES) {
      const n = await countOf(this.store, modality);
      if (n === 0) continue;
      await this.store.buildVectorIndex(opts.type, modality, { m: opts.m, lists: opts.nlist ?? pgvectorLists(n) });
    }
    return (await this.status()).filter((s) => s.type === opts.type);
  }

  async compact(): Promise<string[]> {
    return [];
  }

  async drop(type: "ivf" | "hnsw"): Promise<void> {
    await this.store.dropVectorIndex(type);
  }

  async status(): Promise<IndexStatus[]> {
    const c = await this.store.counts();
    return (await this.store.vectorIndexes()).map((b) => ({ type: b.type, modality: b.modality, spec: b.spec, size: b.modality === "image" ? c.images : c.texts, pending: 0, bytes: b.bytes }));
  }
}
