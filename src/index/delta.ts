/**
 * A saved index plus the changes made since it was saved: the base index (an IVF or HNSW loaded
 * from its file, left as it is), a small exact delta of added vectors, and tombstones for removed
 * base offsets. This is what makes a write cost O(change): adding or removing m items touches the
 * delta only, never the base's lists or graph, and nothing is written to the base file until a
 * compaction folds the delta in (Lance's and Milvus's growing segment, LSM-style).
 */
import { OffsetFilter } from "../core/filter.js";
import { TopK, type Hits } from "../core/topk.js";
import type { SearchOptions, VectorIndex } from "../core/types.js";
import { checkBatch, checkK, checkOffsets, checkQuery, noHits } from "./checks.js";
import { FlatIndex } from "./flat.js";

/** An index that can say whether it holds an offset and list what it holds (IVF, HNSW, Flat). */
export type BaseIndex = VectorIndex & { has(offset: number): boolean; offsets(): Uint32Array };

/**
 * `base` + exact delta + tombstones, searched as one index.
 *
 * - `add`: goes to the delta (a base offset that is added again is tombstoned in the base first).
 * - `remove`: drops delta rows; base offsets become tombstones (filtered out of base results).
 * - `search`: the base answers with the tombstones filtered out (its own filter fallbacks keep
 *   exactly min(k, allowed) results), the delta is scanned exactly, and the two are merged
 *   (ties by offset). `scanned` adds the delta rows to what the base reports.
 * - `compact()`: applies delta and tombstones to the base in place and clears them; the caller
 *   saves the base. It costs what a bulk add to the base costs (IVF: reading every lazy list;
 *   HNSW: inserting the delta into the graph), so it runs when the delta is large, not per write.
 *
 * Trade-off: the delta is exact, so a large delta makes each query slower (dim multiply-adds per
 * delta row) and never less exact; `pending` tells the caller when to compact.
 */
export class DeltaIndex implements VectorIndex {
  readonly metric = "ip" as const;
  readonly isTrained = true;
  readonly dim: number;
  private delta: FlatIndex;
  private tombs = new Set<number>();

  constructor(readonly base: BaseIndex) {
    this.dim = base.dim;
    this.delta = new FlatIndex(base.dim, { threads: 1 });
  }

  /** Live vectors: base minus tombstones plus delta. */
  get size(): number {
    return this.base.size - this.tombs.size + this.delta.size;
  }

  /** Changes not yet folded into the base: delta rows plus tombstones. */
  get pending(): number {
    return this.delta.size + this.tombs.size;
  }

  /** No-op: the base was trained when it was built. */
  train(_xs: Float32Array): void {}

  /** True when `offset` is live here. */
  has(offset: number): boolean {
    if (this.delta.has(offset)) return true;
    return !this.tombs.has(offset) && this.base.has(offset);
  }

  /** Adds to the delta; O(m * dim), the base is not touched. */
  add(offsets: Uint32Array, xs: Float32Array): void {
    checkBatch(offsets, xs, this.dim);
    for (const o of offsets) if (!this.tombs.has(o) && this.base.has(o)) this.tombs.add(o);
    this.delta.add(offsets, xs);
  }

  /** Removes offsets (unknown ones are ignored); O(m). */
  remove(offsets: Uint32Array): void {
    checkOffsets(offsets);
    this.delta.remove(offsets);
    for (const o of offsets) if (!this.tombs.has(o) && this.base.has(o)) this.tombs.add(o);
  }

  /** Live offsets, in no particular order. */
  offsets(): Uint32Array {
    const base = this.base.offsets();
    const out: number[] = [];
    for (const o of base) if (!this.tombs.has(o)) out.push(o);
    for (const o of this.delta.offsets()) out.push(o);
    return Uint32Array.from(out);
  }

  /** Top-k over base (tombstones filtered) and delta (exact), merged; see the class TSDoc. */
  search(q: Float32Array, k: number, opts: SearchOptions = {}): Hits {
    checkK(k);
    checkQuery(q, this.dim);
    if (k === 0 || this.size === 0) return noHits();
    const tombs = this.tombs;
    const f = opts.filter;
    const live = (o: number) => !tombs.has(o);
    const baseFilter = tombs.size ? (f ? f.and(live) : OffsetFilter.where(live)) : f;
    const base = this.base.size - tombs.size > 0 ? this.base.search(q, k, { ...opts, filter: baseFilter }) : noHits();
    if (this.delta.size === 0) return base;
    const delta = this.delta.search(q, k, { filter: f });
    const top = new TopK(k);
    for (let i = 0; i < base.offsets.length; i++) top.push(base.offsets[i], base.scores[i]);
    for (let i = 0; i < delta.offsets.length; i++) top.push(delta.offsets[i], delta.scores[i]);
    const scanned = base.scanned === undefined ? undefined : base.scanned + (delta.scanned ?? 0);
    return scanned === undefined ? top.result() : { ...top.result(), scanned };
  }

  /** Folds delta and tombstones into the base (in memory) and clears them. */
  compact(): void {
    if (this.tombs.size) this.base.remove(Uint32Array.from(this.tombs));
    if (this.delta.size) {
      const offs = this.delta.offsets();
      const xs = new Float32Array(offs.length * this.dim);
      offs.forEach((o, i) => xs.set(this.delta.vector(o)!, i * this.dim));
      this.base.add(offs, xs);
    }
    this.tombs.clear();
    this.delta = new FlatIndex(this.dim, { threads: 1 });
  }

  /** Saves the base only; call `compact()` first to include the delta. */
  async save(path: string): Promise<void> {
    await this.base.save(path);
  }
}
