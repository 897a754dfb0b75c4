/** OffsetFilter: one value for a search's list, predicates and excluded offset. */
import { describe, expect, it } from "vitest";
import { OffsetFilter } from "../../src/core/filter.js";

describe("OffsetFilter", () => {
  it("a list is sorted and de-duplicated, and has() is its membership", () => {
    const f = OffsetFilter.of([9, 3, 3, 7, 9]);
    expect(Array.from(f.list!)).toEqual([3, 7, 9]);
    expect([2, 3, 7, 8, 9].map((o) => f.has(o))).toEqual([false, true, true, false, true]);
    expect(f.tests).toBe(false);
    expect(f.pushable).toBe(true);
  });

  it("and() and without() narrow it; test() is what a scan over the list still applies", () => {
    const f = OffsetFilter.of([1, 2, 3, 4, 5, 6]).and((o) => o % 2 === 0).without(4);
    expect([1, 2, 3, 4, 5, 6, 8].map((o) => f.has(o))).toEqual([false, true, false, false, false, true, false]);
    expect(f.test(8)).toBe(true);
    expect(f.test(4)).toBe(false);
    expect(f.tests).toBe(true);
    expect(f.pushable).toBe(false);
    expect(f.excluded).toBe(4);
    // A second excluded offset becomes a predicate: both stay out.
    const g = OffsetFilter.except(1).without(2);
    expect([0, 1, 2, 3].map((o) => g.has(o))).toEqual([true, false, false, true]);
    expect(OffsetFilter.except(1).without(1).excluded).toBe(1);
  });

  it("where() has no list; except() keeps one offset out and stays pushable", () => {
    const w = OffsetFilter.where((o) => o > 10);
    expect(w.list).toBeUndefined();
    expect([5, 11].map((o) => w.has(o))).toEqual([false, true]);
    const e = OffsetFilter.except(3);
    expect(e.pushable).toBe(true);
    expect([2, 3].map((o) => e.has(o))).toEqual([true, false]);
  });
});
