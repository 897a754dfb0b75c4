/**
 * One typed filter for index searches: which offsets a search may return. It replaces a predicate
 * and a candidate list that had to agree: here the list (when the caller knows the allowed
 * offsets, e.g. from a metadata filter) and any predicates (tombstones, the query item) are parts
 * of one value, and `has` is their intersection by construction.
 */
export class OffsetFilter {
  /**
   * The allowed offsets, sorted and unique, when known: the fast path for a selective filter
   * (indexes scan just these exactly). May include offsets a predicate or `excluded` rejects.
   */
  readonly list: Uint32Array | undefined;
  /** One offset left out (the query item of an item → item search), for stores that search on their server. */
  readonly excluded: number | undefined;
  private readonly preds: readonly ((offset: number) => boolean)[];
  private members: Set<number> | undefined;

  private constructor(list: Uint32Array | undefined, preds: readonly ((offset: number) => boolean)[], excluded: number | undefined) {
    this.list = list;
    this.preds = preds;
    this.excluded = excluded;
  }

  /** Only these offsets (any order, duplicates allowed; copied, sorted and de-duplicated once, here). */
  static of(offsets: ArrayLike<number>): OffsetFilter {
    const sorted = Uint32Array.from(offsets).sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i];
    return new OffsetFilter(sorted.subarray(0, n), [], undefined);
  }

  /** The offsets for which `pred` is true (no list: indexes test it while they search). */
  static where(pred: (offset: number) => boolean): OffsetFilter {
    return new OffsetFilter(undefined, [pred], undefined);
  }

  /** Everything but `offset`. */
  static except(offset: number): OffsetFilter {
    return new OffsetFilter(undefined, [], offset);
  }

  /** This filter, also requiring `pred` (the list, if any, is kept as it is). */
  and(pred: (offset: number) => boolean): OffsetFilter {
    return new OffsetFilter(this.list, [...this.preds, pred], this.excluded);
  }

  /** This filter without `offset` as well. Keeps the first excluded offset only (one query item). */
  without(offset: number | undefined): OffsetFilter {
    if (offset === undefined || this.excluded === offset) return this;
    if (this.excluded === undefined) return new OffsetFilter(this.list, this.preds, offset);
    return this.and((o) => o !== offset);
  }

  /** True when `offset` may be returned: in the list (when there is one), not excluded, every predicate true. */
  has(offset: number): boolean {
    if (this.list !== undefined && !this.inList(offset)) return false;
    return this.test(offset);
  }

  /**
   * The checks beyond the list: not excluded and every predicate true. What a scan over `list`
   * still has to apply (it is cheaper than `has` there, since list membership holds already).
   */
  test(offset: number): boolean {
    if (offset === this.excluded) return false;
    for (const p of this.preds) if (!p(offset)) return false;
    return true;
  }

  /**
   * True when the filter is only a list and an excluded offset, which a store that searches on
   * its server can express in SQL; predicates can only be called in process.
   */
  get pushable(): boolean {
    return this.preds.length === 0;
  }

  /** True when `test` can reject anything (an excluded offset or a predicate). */
  get tests(): boolean {
    return this.excluded !== undefined || this.preds.length > 0;
  }

  private inList(offset: number): boolean {
    this.members ??= new Set(this.list);
    return this.members.has(offset);
  }
}
