import { mkdirSync, statSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Modality, VectorIndex } from "../core/types.js";
import { ClipdbError } from "../core/errors.js";
import { FlatIndex, HnswIndex, IvfIndex, crossModalCentroids, formatSpec, loadIndex } from "../index/index.js";
import type { ModalityIndexes } from "../query/plan.js";
import type { Store } from "../store/index.js";
import type { IndexStatus } from "./types.js";
import { LazyFlat, countOf } from "./lazy-flat.js";

/** An index that can list the offsets it holds (every clipdb index can). */
type ListableIndex = VectorIndex & { offsets(): Uint32Array };

/** How to build an approximate index. */
export interface BuildOptions {
  type: "ivf" | "hnsw";
  /** IVF lists; default clamp(4·√n, 1, n/39) per modality, so each list trains on ≥ 39 points. */
  nlist?: number;
  /** HNSW graph degree; default 32. Higher is more exact, bigger and slower to build. */
  m?: number;
  /** IVF: which vectors train the centroids; default "self" (the index's own modality). */
  trainOn?: Modality | "all" | "self";
  /**
   * IVF: lists each vector is stored in; default 1. Higher costs `spill` times the memory; measured
   * on Flickr30k-500 it lowers cross-modal recall at equal scanned fraction (bench/crossmodal.ts).
   */
  spill?: number;
  /**
   * IVF: how the lists are formed for the queries they will serve.
   * - "query" (the DEFAULT when the collection holds both images and texts and `trainOn` is
   *   "self"): query-aware lists (`crossModalCentroids`), k-means on each vector's scores against
   *   a sample of the other modality, so text queries over the image index (and image queries
   *   over the text index) find their neighbours in fewer lists. Measured on Flickr30k-500
   *   (IVF16, held-out queries): text to image recall@10 vs exact .59 / .84 at 10% / 25% scanned,
   *   against .50 / .76 for "none"; image to text .56 / .81 against .44 / .70. Costs one pass of
   *   dim * dim multiply-adds per k-means training vector (at most 50k, or 64 * nlist) at build
   *   time; search cost is unchanged. On the 100k synthetic gap set (a pure translation gap,
   *   where shifting queries by the gap is best) it gives text to image .967 vs .974 for "none" at
   *   2% scanned, and image to text .964 vs .743.
   * - "none": plain k-means on the `trainOn` vectors (the default with one modality).
   */
  route?: "none" | "query";
  /** Which modalities get an index; default every modality that has items. */
  modalities?: Modality[];
}

/** A persisted approximate index, as recorded in the store's settings. */
interface IndexRecord {
  type: "ivf" | "hnsw";
  modality: Modality;
  spec: string;
  file: string;
  /** Store generation the file reflects. */
  generation: number;
}

const MODALITIES: Modality[] = ["image", "text"];
const SETTING = "indexes";
/** Vectors of the other modality needed before an IVF build uses query-aware lists. */
const MIN_ROUTE_QUERIES = 16;

/** Default IVF nlist for n vectors: about 4·√n, with at least 39 training points per list. */
export function defaultNlist(n: number): number {
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(n)), Math.floor(n / 39)));
}

/**
 * The indexes of an open collection: an exact Flat index per modality, loaded from the store's
 * vectors, plus the IVF and HNSW indexes that were built, loaded from their files without
 * retraining. Files that are behind the store (a crash after a commit, or another process's
 * writes) are brought up to date by adding and removing the offsets that differ.
 */
export class IndexSet {
  private sets = new Map<Modality, ModalityIndexes>();
  private generation = -1;
  private dirty = new Set<ListableIndex>();

  constructor(private readonly store: Store, private readonly dir: string) {}

  /** Loads every index on first use and catches up with writes made by other processes. */
  async sync(): Promise<Map<Modality, ModalityIndexes>> {
    const gen = this.store.generation();
    if (gen === this.generation) return this.sets;
    const model = this.store.model();
    if (!model) {
      this.generation = gen;
      return this.sets;
    }
    if (this.generation < 0) await this.load(model.dim);
    else {
      for (const [modality, set] of this.sets) {
        for (const idx of this.all(set)) {
          if (idx instanceof LazyFlat && !idx.loaded) idx.invalidate();
          else this.reconcile(idx, modality);
        }
      }
    }
    this.generation = gen;
    return this.sets;
  }

  private async load(dim: number): Promise<void> {
    for (const modality of MODALITIES) {
      this.sets.set(modality, { flat: new LazyFlat(this.store, modality, dim) });
    }
    for (const rec of this.records()) {
      const path = join(this.dir, rec.file);
      const idx = (await loadIndex(path)) as ListableIndex;
      const set = this.sets.get(rec.modality)!;
      set[rec.type] = idx;
      if (rec.generation !== this.store.generation()) this.reconcile(idx, rec.modality);
    }
  }

  /** Adds and removes offsets so that `idx` holds exactly the store's live items of a modality. */
  private reconcile(idx: ListableIndex, modality: Modality): void {
    const live = this.store.liveOffsets(modality);
    const liveSet = new Set(live);
    const have = new Set(idx.offsets());
    const extra = Uint32Array.from([...have].filter((o) => !liveSet.has(o)));
    if (extra.length) idx.remove(extra);
    const missing = live.filter((o) => !have.has(o));
    if (missing.length) {
      idx.add(missing, this.store.vectorsAt(missing));
    }
    if (extra.length || missing.length) this.dirty.add(idx);
  }

  private all(set: ModalityIndexes): ListableIndex[] {
    return [set.flat, set.ivf, set.hnsw].filter((x): x is ListableIndex => x !== undefined);
  }

  /** Adds freshly committed vectors to every loaded index of their modality. */
  add(modality: Modality, offsets: Uint32Array, xs: Float32Array): void {
    if (this.generation < 0 || offsets.length === 0) return;
    let set = this.sets.get(modality);
    if (!set) {
      set = { flat: new LazyFlat(this.store, modality, xs.length / offsets.length) };
      this.sets.set(modality, set);
    }
    for (const idx of this.all(set)) {
      idx.add(offsets, xs);
      if (idx !== set.flat) this.dirty.add(idx);
    }
    this.generation = this.store.generation();
  }

  /** Removes offsets from every loaded index. */
  remove(offsets: Uint32Array): void {
    if (this.generation < 0 || offsets.length === 0) return;
    for (const set of this.sets.values()) {
      for (const idx of this.all(set)) {
        idx.remove(offsets);
        if (idx !== set.flat) this.dirty.add(idx);
      }
    }
    this.generation = this.store.generation();
  }

  /** Writes every approximate index changed since it was last saved (atomic per file). */
  async save(): Promise<void> {
    if (this.dirty.size === 0) return;
    const records = this.records();
    for (const rec of records) {
      const idx = this.sets.get(rec.modality)?.[rec.type] as ListableIndex | undefined;
      if (!idx || !this.dirty.has(idx)) continue;
      await idx.save(join(this.dir, rec.file));
      rec.generation = this.store.generation();
    }
    this.store.setSetting(SETTING, records);
    this.dirty.clear();
  }

  /**
   * Builds (or rebuilds) an IVF or HNSW index per modality from the stored vectors, saves it, and
   * swaps it in only when complete, so searches never see a half-built index.
   */
  async build(opts: BuildOptions): Promise<IndexStatus[]> {
    await this.sync();
    const model = this.store.model();
    if (!model) return [];
    const records = this.records().filter((r) => !(r.type === opts.type && (opts.modalities ?? MODALITIES).includes(r.modality)));
    const built: IndexStatus[] = [];
    mkdirSync(join(this.dir, "indexes"), { recursive: true });
    for (const modality of opts.modalities ?? MODALITIES) {
      const { offsets, xs } = this.store.vectors(modality);
      const set = this.sets.get(modality);
      if (!set || offsets.length === 0) continue;
      const { idx, spec } = this.make(opts, modality, offsets, xs);
      const file = join("indexes", `${opts.type}-${modality}.idx`);
      await idx.save(join(this.dir, file));
      set[opts.type] = idx;
      this.dirty.delete(idx);
      records.push({ type: opts.type, modality, spec, file, generation: this.store.generation() });
      built.push(this.describe(records[records.length - 1]));
    }
    this.store.setSetting(SETTING, records);
    return built;
  }

  /** Creates, trains and fills one index from a modality's vectors. */
  private make(opts: BuildOptions, modality: Modality, offsets: Uint32Array, xs: Float32Array): { idx: ListableIndex; spec: string } {
    const dim = xs.length / offsets.length;
    let idx: ListableIndex;
    let spec: string;
    if (opts.type === "ivf") {
      const nlist = Math.min(opts.nlist ?? defaultNlist(offsets.length), offsets.length);
      const spill = opts.spill ?? 1;
      const route = this.routeFor(opts, modality);
      spec = formatSpec({ type: "ivf", nlist, spill, route });
      const quantizer = new FlatIndex(dim);
      if (route === "query") {
        const queries = this.store.vectors(modality === "image" ? "text" : "image").xs;
        quantizer.add(Uint32Array.from({ length: nlist }, (_, i) => i), crossModalCentroids(xs, queries, dim, nlist));
      }
      const ivf = new IvfIndex({ dim, nlist, quantizer, spill });
      if (route === "none") ivf.train(this.trainingSet(modality, opts.trainOn ?? "self", xs));
      idx = ivf as unknown as ListableIndex;
    } else {
      const m = opts.m ?? 32;
      spec = `HNSW${m}`;
      idx = new HnswIndex({ dim, m }) as unknown as ListableIndex;
    }
    idx.add(offsets, xs);
    return { idx, spec };
  }

  /**
   * The loaded indexes, plus in-memory indexes of `type` built for the modalities that lack one
   * (nothing is saved). Evaluation uses it so that it runs on any collection.
   */
  async withTransient(opts: BuildOptions, base?: Map<Modality, ModalityIndexes>): Promise<{ sets: Map<Modality, ModalityIndexes>; built: string[] }> {
    const sets = new Map<Modality, ModalityIndexes>([...(base ?? (await this.sync()))].map(([m, s]) => [m, { ...s }]));
    const built: string[] = [];
    for (const [modality, set] of sets) {
      if (set[opts.type] || set.flat.size === 0) continue;
      const { offsets, xs } = this.store.vectors(modality);
      const { idx, spec } = this.make(opts, modality, offsets, xs);
      set[opts.type] = idx;
      built.push(`${modality}:${spec}`);
    }
    return { sets, built };
  }

  /**
   * The route an IVF build of `modality` uses: the one asked for, else "query" when the other
   * modality has at least MIN_ROUTE_QUERIES vectors and training is on the index's own vectors,
   * else "none" (also when "query" is asked for without enough such vectors). "query" with
   * another `trainOn` is INVALID_ARGUMENT (query-aware lists train on the index's own vectors).
   */
  private routeFor(opts: BuildOptions, modality: Modality): "none" | "query" {
    const own = (opts.trainOn ?? "self") === "self" || opts.trainOn === modality;
    if (opts.route === "query" && !own) throw new ClipdbError("INVALID_ARGUMENT", { name: "route", reason: `'query' trains each index on its own vectors, but trainOn is '${opts.trainOn}'`, hint: "Drop --train-on, or use --route none." });
    if (opts.route !== undefined) {
      if (opts.route !== "none" && opts.route !== "query") throw new ClipdbError("INVALID_ARGUMENT", { name: "route", reason: `'${String(opts.route)}' is not none or query` });
      if (opts.route === "none") return "none";
    }
    const other = countOf(this.store, modality === "image" ? "text" : "image");
    return own && other >= MIN_ROUTE_QUERIES ? "query" : "none";
  }

  private trainingSet(modality: Modality, trainOn: Modality | "all" | "self", own: Float32Array): Float32Array {
    if (trainOn === "self" || trainOn === modality) return own;
    if (trainOn === "all") return this.store.vectors().xs;
    return this.store.vectors(trainOn).xs;
  }

  /** Drops an approximate index and its file. */
  drop(type: "ivf" | "hnsw"): void {
    const records = this.records();
    for (const rec of records.filter((r) => r.type === type)) {
      rmSync(join(this.dir, rec.file), { force: true });
      const set = this.sets.get(rec.modality);
      if (set) delete set[type];
    }
    this.store.setSetting(SETTING, records.filter((r) => r.type !== type));
  }

  /** Built indexes with their size and on-disk bytes. */
  status(): IndexStatus[] {
    return this.records().map((r) => this.describe(r));
  }

  private describe(r: IndexRecord): IndexStatus {
    const path = join(this.dir, r.file);
    const loaded = this.sets.get(r.modality)?.[r.type];
    const live = countOf(this.store, r.modality);
    const size = loaded ? loaded.size : live;
    return {
      type: r.type,
      modality: r.modality,
      spec: r.spec,
      size,
      pending: Math.max(0, live - size),
      bytes: existsSync(path) ? statSync(path).size : 0,
    };
  }

  private records(): IndexRecord[] {
    return (this.store.getSetting<IndexRecord[]>(SETTING) ?? []).map((r) => ({ ...r }));
  }
}
