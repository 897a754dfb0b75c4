/**
 * IVF-Flat (Faiss `IndexIVFFlat`): a flat quantizer over `nlist` k-means centroids plus one
 * inverted list per centroid, each a contiguous `VectorBlock` scanned by the same kernel as Flat.
 */
import { scanListed } from "../core/cost.js";
import { ClipdbError } from "../core/errors.js";
import { TopK, type Hits } from "../core/topk.js";
import type { SearchOptions, VectorIndex } from "../core/types.js";
import { RowGather, VectorBlock } from "./block.js";
import { checkBatch, checkK, checkOffsets, checkPositive, checkQuery, checkTrain, noHits } from "./checks.js";
import { writeAtomic } from "./fileio.js";
import { FlatIndex } from "./flat.js";
import { openIvf, pendingCloser, writeIvf, type PendingLists } from "./ivffile.js";
import { kmeans, type KMeansOptions } from "./kmeans.js";
import { crossModalCentroids, type CrossModalOptions } from "./xmodal.js";

/** Options of an IvfIndex. */
export interface IvfOptions {
  /** Vector dimension. */
  dim: number;
  /** Number of inverted lists (k-means centroids). Rule of thumb: 4 * sqrt(n) to 16 * sqrt(n). */
  nlist: number;
  /** The coarse quantizer holding the centroids; default `new FlatIndex(dim)`. */
  quantizer?: FlatIndex;
  /**
   * Lists each vector is stored in (its `spill` nearest centroids, SOAR-like spilling); default 1.
   * Higher finds neighbours that sit near list borders (useful when queries come from another
   * distribution, e.g. text queries over image vectors), at `spill` times the memory and add time.
   */
  spill?: number;
  /** Lists probed per query when the search does not say; default 16 (capped at nlist). */
  nprobe?: number;
  /** k-means settings for `train` (iterations, seed, sample size). */
  kmeans?: KMeansOptions;
  /** Native threads for train and add (bulk assignment); default 0 = all cores. Searches use 1. */
  threads?: number;
}


/** Options of `IvfIndex.load`: search and build settings that may differ from the saved ones. */
export type IvfLoadOptions = Partial<Pick<IvfOptions, "nprobe" | "kmeans" | "threads">> & {
  /** Read each list's vectors on first probe (default true) or all of them now (false). */
  lazy?: boolean;
};

/** Where an offset is stored: its list, or its lists when spill > 1. */
type Where = number | number[];

/**
 * Inverted-file index with exact re-scoring inside the probed lists.
 *
 * - `train(xs)`: spherical k-means (see `kmeans`) on a seeded sample; the centroids go into the
 *   quantizer under offsets 0..nlist-1.
 * - `add`: each vector goes to its `spill` nearest lists (INDEX_NOT_TRAINED before training).
 * - `search`: probes the `nprobe` lists nearest to the query and scans each with the flat kernel;
 *   `scanned` counts the vectors scored. Results are exact scores, best first, ties by offset,
 *   de-duplicated when spill > 1.
 * - Filters: a filter's list no longer than the expected probe work (nprobe · stored / nlist
 *   vectors, or 4096: see core/cost.ts) is scanned exactly instead of probing. Otherwise the filter
 *   is applied inside the probed lists, and if fewer than k results survive, every allowed vector is
 *   scanned exactly, so exactly min(k, allowed) results come back.
 * - `save`/`load`: one versioned file, written atomically; reopening needs no retraining and, by
 *   default, reads each list's vectors only when a search first probes it (see `load`).
 */
export class IvfIndex implements VectorIndex {
  readonly metric = "ip" as const;
  readonly dim: number;
  readonly nlist: number;
  readonly spill: number;
  readonly quantizer: FlatIndex;
  /** How the lists were trained: "none" (k-means) or "query" (`train(xs, { queries })`); saved in the file. */
  route: "none" | "query" = "none";
  /** Default lists probed per query (see IvfOptions.nprobe). */
  nprobe: number;
  private readonly kmeansOpts: KMeansOptions;
  private readonly threads: number;
  private lists: VectorBlock[];
  /** Lists whose vectors are still in the file (after a lazy load), else null. */
  private pending: PendingLists | null = null;
  private where: Map<number, Where> | null = null;
  private count = 0;

  /**
   * Creates an empty, untrained index, e.g. `new IvfIndex({ dim: 512, nlist: 1024, quantizer: new
   * FlatIndex(512) })`. Defaults: spill 1, nprobe 16, all cores for train/add.
   */
  constructor(opts: IvfOptions) {
    const { dim, nlist } = opts;
    checkPositive("dim", dim);
    checkPositive("nlist", nlist);
    this.dim = dim;
    this.nlist = nlist;
    this.spill = opts.spill ?? 1;
    checkPositive("spill", this.spill);
    if (this.spill > nlist) throw new ClipdbError("INVALID_ARGUMENT", { name: "spill", reason: `must be at most nlist (${nlist}), got ${this.spill}` });
    this.nprobe = opts.nprobe ?? 16;
    checkPositive("nprobe", this.nprobe);
    this.quantizer = opts.quantizer ?? new FlatIndex(dim);
    if (this.quantizer.dim !== dim) throw new ClipdbError("DIM_MISMATCH", { expected: dim, got: this.quantizer.dim, where: "IVF quantizer" });
    this.kmeansOpts = opts.kmeans ?? {};
    this.threads = opts.threads ?? 0;
    this.lists = Array.from({ length: nlist }, () => new VectorBlock(dim));
  }

  /** True once the quantizer holds nlist centroids. */
  get isTrained(): boolean {
    return this.quantizer.size === this.nlist;
  }

  /** Number of distinct vectors held (a spilled vector counts once). */
  get size(): number {
    return this.count;
  }

  /** Offsets held (each once), in no particular order. */
  offsets(): Uint32Array {
    return Uint32Array.from(this.locations().keys());
  }

  /** True when `offset` is held. The first call after a load builds the offset map (O(n), no vectors read). */
  has(offset: number): boolean {
    return this.locations().has(offset);
  }

  /**
   * Resident bytes once every list is read: dim * 4 + 4 per stored entry (spill counts each copy)
   * plus the centroids (lists a lazy load has not read yet are counted as if read).
   */
  get residentBytes(): number {
    return this.storedVectors() * (this.dim * 4 + 4) + this.quantizer.residentBytes;
  }

  /** Vectors stored per list (for diagnostics and balance checks). */
  listSizes(): Uint32Array {
    return Uint32Array.from(this.lists, (l) => l.size);
  }

  /**
   * Trains the quantizer on `xs` (n * dim, n >= nlist). Allowed while the index is empty (it
   * replaces earlier centroids); a non-empty index is refused (INVALID_ARGUMENT).
   * - Default: spherical k-means on `xs` (route "none").
   * - `opts.queries` (m * dim): query-aware lists for queries of another distribution, as Faiss's
   *   `train_with_queries` (route "query"; see `crossModalCentroids`, with `opts.crossModal`).
   *   Better recall for cross-modal queries (text over images) at the same nprobe, at the cost of
   *   scoring the vectors against the queries once.
   * The route is kept in the file header, so a reopened index knows how it was trained.
   */
  train(xs: Float32Array, opts: { queries?: Float32Array; crossModal?: CrossModalOptions } = {}): void {
    checkTrain(xs, this.dim);
    if (this.count > 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: "the IVF index already holds vectors", hint: "Create a new index to retrain." });
    const ids = Uint32Array.from({ length: this.nlist }, (_, i) => i);
    if (opts.queries) {
      const centroids = crossModalCentroids(xs, opts.queries, this.dim, this.nlist, { kmeans: this.kmeansOpts, ...opts.crossModal });
      this.quantizer.remove(ids);
      this.quantizer.add(ids, centroids);
      this.route = "query";
      return;
    }
    const { centroids } = kmeans(xs, this.dim, this.nlist, { threads: this.threads, ...this.kmeansOpts });
    this.quantizer.remove(ids);
    this.quantizer.add(ids, centroids);
    this.route = "none";
  }

  /**
   * Adds vectors to their `spill` nearest lists; an offset already present is replaced.
   * Cost: one batched assignment against nlist centroids (int8 SIMD + exact re-rank) plus copies.
   */
  add(offsets: Uint32Array, xs: Float32Array): void {
    checkBatch(offsets, xs, this.dim);
    if (!this.isTrained) throw new ClipdbError("INDEX_NOT_TRAINED", { index: "IVF" });
    if (offsets.length === 0) return;
    this.loadAll();
    const where = this.locations();
    const assigned = this.quantizer.assign(xs, this.spill, this.threads);
    const incoming = new Uint32Array(this.nlist);
    for (const l of assigned) incoming[l]++;
    // A bulk add sizes each list exactly; small adds keep the amortised doubling.
    this.lists.forEach((b, l) => {
      if (incoming[l] > b.size) b.reserve(b.size + incoming[l], true);
    });
    const s = this.spill;
    for (let i = 0; i < offsets.length; i++) {
      const off = offsets[i];
      if (where.has(off)) this.removeOne(off, where);
      for (let j = 0; j < s; j++) this.lists[assigned[i * s + j]].append(off, xs, i);
      where.set(off, s === 1 ? assigned[i] : Array.from(assigned.subarray(i * s, (i + 1) * s)));
      this.count++;
    }
  }

  /** Removes offsets (unknown ones are ignored). Cost per offset: a scan of its list's offsets. */
  remove(offsets: Uint32Array): void {
    checkOffsets(offsets);
    this.loadAll();
    const where = this.locations();
    for (const off of offsets) if (where.has(off)) this.removeOne(off, where);
  }

  /**
   * Top-k by inner product over the `nprobe` lists nearest to `q` (default: the index's nprobe,
   * 16 unless set; capped at nlist). See the class TSDoc for filters.
   */
  search(q: Float32Array, k: number, opts: SearchOptions = {}): Hits {
    checkK(k);
    const qq = checkQuery(q, this.dim);
    const nprobe = Math.min(opts.nprobe ?? this.nprobe, this.nlist);
    checkPositive("nprobe", nprobe);
    if (k === 0 || this.count === 0) return noHits();
    const top = new TopK(Math.min(k, this.count));
    const f = opts.filter;
    if (f?.list && scanListed(f.list.length, (nprobe * this.storedVectors()) / this.nlist)) {
      const scanned = this.scanCandidates(qq, top, f.list, f.tests ? (o) => f.test(o) : undefined);
      return { ...top.result(), scanned };
    }
    const allow = f && ((o: number) => f.has(o));
    const probe = this.quantizer.search(qq, nprobe).offsets;
    const seen = this.spill > 1 ? new Set<number>() : undefined;
    let scanned = 0;
    for (const l of probe) scanned += this.list(l).scan(qq, top, { allow, seen });
    if (allow && top.size < top.k) {
      const exact = new TopK(top.k);
      scanned += this.scanAllowed(qq, exact, allow);
      return { ...exact.result(), scanned };
    }
    return { ...top.result(), scanned };
  }

  /** Writes the index to one file atomically (format: see ivffile.ts). Reads any lists still on disk first. */
  async save(path: string): Promise<void> {
    this.loadAll();
    const h = { dim: this.dim, nlist: this.nlist, spill: this.spill, nprobe: this.nprobe, count: this.count, route: this.route };
    await writeAtomic(path, (w) => writeIvf(w, h, this.quantizer, this.lists));
  }

  /**
   * Opens an index written by `save`, without retraining. A missing, truncated, foreign or
   * wrong-version file, or a bad directory checksum, is INDEX_CORRUPT naming the path.
   * `lazy` (default true): read each list's vectors on first use (and check its CRC32 then, so a
   * corrupt list surfaces as INDEX_CORRUPT from that search); opening a 1M x 512 index then reads
   * only about 6 MB. `lazy: false` reads and checks everything now. `opts` may also override
   * nprobe, threads and k-means settings; dim, nlist and spill come from the file.
   */
  static async load(path: string, opts: IvfLoadOptions = {}): Promise<IvfIndex> {
    const { lazy = true, ...rest } = opts;
    const f = openIvf(path);
    const { dim, nlist, spill, nprobe, count, route } = f.header;
    const idx = new IvfIndex({ dim, nlist, spill, nprobe, quantizer: f.quantizer, ...rest });
    idx.route = route;
    idx.lists = f.lists;
    idx.count = count;
    idx.pending = f.pending.done ? null : f.pending;
    if (idx.pending) pendingCloser.register(idx, idx.pending);
    if (!lazy) idx.loadAll();
    return idx;
  }

  /** Reads every list still on disk, yielding to the event loop between lists (after a lazy load). */
  async warm(): Promise<void> {
    for (let l = 0; l < this.nlist && this.pending; l++) {
      this.list(l);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** List `l`, reading its vectors from the file first if a lazy load left them there. */
  private list(l: number): VectorBlock {
    const p = this.pending;
    if (p && p.isPending(l)) {
      p.load(l, this.lists[l]);
      if (p.done) this.pending = null;
    }
    return this.lists[l];
  }

  private loadAll(): void {
    for (let l = 0; l < this.nlist && this.pending; l++) this.list(l);
  }

  /** Total list entries (count * spill once full; a spilled vector is scanned once per list). */
  private storedVectors(): number {
    let s = 0;
    for (const l of this.lists) s += l.size;
    return s;
  }

  /** Exact scan of the listed offsets only (sorted and unique: an OffsetFilter's list); returns the vectors scored. */
  private scanCandidates(q: Float32Array, top: TopK, candidates: Uint32Array, allow?: (o: number) => boolean): number {
    const where = this.locations();
    const g = new RowGather(this.dim, candidates.length);
    for (const off of candidates) {
      const w = where.get(off);
      if (w === undefined || (allow && !allow(off))) continue;
      const list = this.list(typeof w === "number" ? w : w[0]);
      g.add(list.data, list.find(off), off);
    }
    return g.scan(q, top);
  }

  /** Exact scan of every allowed vector (each once, even when spilled). */
  private scanAllowed(q: Float32Array, top: TopK, allow: (o: number) => boolean): number {
    this.loadAll();
    const taken = this.spill > 1 ? new Set<number>() : undefined;
    let n = 0;
    for (const l of this.lists) {
      for (let r = 0; r < l.size; r++) if (allow(l.offsets[r])) n++;
    }
    const g = new RowGather(this.dim, n);
    for (const l of this.lists) {
      for (let r = 0; r < l.size; r++) {
        const off = l.offsets[r];
        if (!allow(off)) continue;
        if (taken) {
          if (taken.has(off)) continue;
          taken.add(off);
        }
        g.add(l.data, r, off);
      }
    }
    return g.scan(q, top);
  }

  /** Removes one present offset from each list that holds it. */
  private removeOne(off: number, where: Map<number, Where>): void {
    const w = where.get(off)!;
    for (const l of typeof w === "number" ? [w] : w) {
      const list = this.lists[l];
      const r = list.find(off);
      if (r >= 0) list.removeRow(r);
    }
    where.delete(off);
    this.count--;
  }

  /** offset -> list(s) map, built on first add/remove/candidate search after a load. */
  private locations(): Map<number, Where> {
    if (this.where) return this.where;
    const m = new Map<number, Where>();
    this.lists.forEach((list, l) => {
      for (let r = 0; r < list.size; r++) {
        const off = list.offsets[r];
        if (this.spill === 1) {
          m.set(off, l);
          continue;
        }
        const w = m.get(off);
        if (w === undefined) m.set(off, [l]);
        else (w as number[]).push(l);
      }
    });
    this.where = m;
    return m;
  }
}
