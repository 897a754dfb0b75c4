import type { Hits, Modality, SearchOptions } from "../core/types.js";
import { ClipdbError } from "../core/errors.js";
import { annKinds, type IndexChoice, type LocalIndexes, type ModalityIndexes, type PlanIndex } from "../query/index.js";
import type { PgCollectionStore } from "../store/index.js";
import type { IndexStatus } from "./types.js";
import { LazyFlat, countOf } from "./lazy-flat.js";
import type { BuildOptions } from "./index-build.js";
import { pgKind, pgKindOf, type PgKind } from "./kinds.js";

export { pgvectorLists } from "./pg-kinds.js";

const MODALITIES: Modality[] = ["image", "text"];

/**
 * One modality's search on the Postgres server: exact (`ORDER BY embedding <#> q`), or through
 * its pgvector HNSW or IVFFlat index. A filter travels as its list and excluded offset (SQL); a
 * filter with predicates, which only in-memory indexes can call, is refused (the planner makes none).
 */
class RemoteIndex implements PlanIndex {
  size = 0;
  private counted = false;

  constructor(
    private readonly store: PgCollectionStore,
    private readonly modality: Modality,
    /** "exact", or the store's name of a pgvector index kind ("hnsw", "ivf"). */
    private readonly kind: string,
  ) {}

  /** Counts the modality's items, once per search (the planner's exact-below-a-size rule reads `size`). */
  async prepare(): Promise<void> {
    if (this.counted) return;
    this.size = await countOf(this.store, this.modality);
    this.counted = true;
  }

  /**
   * Exact search scores every row of the modality (or every candidate), and reports that as
   * `scanned`; pgvector's index scans do not say how many they score, so they report none.
   */
  async search(q: Float32Array, k: number, opts: SearchOptions = {}): Promise<Hits> {
    const f = opts.filter;
    if (f && !f.pushable) throw new ClipdbError("INTERNAL", { reason: "a filter with predicates reached a Postgres search; only lists and an excluded offset can be sent as SQL" });
    const hits: Hits = await this.store.searchVectors(q, k, { modality: this.modality, index: this.kind, ef: opts.ef, probes: opts.nprobe, candidates: f?.list, exclude: f?.excluded });
    if (this.kind === "exact") hits.scanned = f?.list?.length ?? this.size;
    return hits;
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
      const set: ModalityIndexes = { flat: new RemoteIndex(this.store, m, "exact"), ann: {} };
      for (const k of annKinds("postgres") as PgKind[]) if (built.some((b) => b.type === k.pgType && b.modality === m)) set.ann[k.name] = new RemoteIndex(this.store, m, k.pgType);
      out.set(m, set);
    }
    if (kind !== "auto" && kind !== "exact") {
      const k = pgKind(kind, "index");
      if (!built.some((b) => b.type === k.pgType && modalities.includes(b.modality))) throw new ClipdbError("INDEX_NOT_BUILT", { type: kind, modality: modalities.length === 1 ? modalities[0] : undefined });
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
      out.set(m, { flat, ann: {} });
    }
    return out;
  }

  /** Builds the pgvector index of kind `opts.type` per modality (see pg-kinds.ts for each kind's defaults). */
  async build(opts: BuildOptions): Promise<IndexStatus[]> {
    const kind = pgKind(opts.type);
    if (!(await this.store.model())) return [];
    for (const modality of opts.modalities ?? MODALITIES) {
      const n = await countOf(this.store, modality);
      if (n === 0) continue;
      await kind.build(this.store, opts, modality, n);
    }
    return (await this.status()).filter((s) => s.type === opts.type);
  }

  async compact(): Promise<string[]> {
    return [];
  }

  async drop(type: string): Promise<void> {
    await this.store.dropVectorIndex(pgKind(type).pgType);
  }

  async status(): Promise<IndexStatus[]> {
    const c = await this.store.counts();
    return (await this.store.vectorIndexes()).map((b) => {
      const kind = pgKindOf(b.type);
      return { type: kind?.name ?? b.type, kind: kind?.id ?? b.type, modality: b.modality, spec: b.spec, size: b.modality === "image" ? c.images : c.texts, pending: 0, bytes: b.bytes };
    });
  }
}
