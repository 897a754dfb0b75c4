/** The one cost model: scan a filter's list exactly when it costs no more than the index's search, or is under the floor. */
import { describe, expect, it } from "vitest";
import { EXACT_SCAN_FLOOR, scanListed } from "../../src/core/cost.js";
import { FlatIndex } from "../../src/index/index.js";
import { OffsetFilter } from "../../src/core/filter.js";

describe("scanListed", () => {
  it("scans lists under the floor, and larger ones only when they cost no more than the alternative", () => {
    expect(EXACT_SCAN_FLOOR).toBe(4096);
    expect(scanListed(4096, 0)).toBe(true);
    expect(scanListed(4097, 0)).toBe(false);
    expect(scanListed(10_000, 12_000)).toBe(true);
    expect(scanListed(10_000, 9_999)).toBe(false);
  });

  it("a flat index gathers a list under the floor and scans in order above n / 4 (scanned shows which)", () => {
    const dim = 8;
    const n = 40_000;
    const xs = new Float32Array(n * dim).map((_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
    const idx = new FlatIndex(dim);
    idx.add(Uint32Array.from({ length: n }, (_, i) => i), xs);
    const q = xs.slice(0, dim);
    const small = OffsetFilter.of(Uint32Array.from({ length: 3000 }, (_, i) => i * 7));
    expect(idx.search(q, 5, { filter: small }).scanned).toBe(3000);
    const large = OffsetFilter.of(Uint32Array.from({ length: 20_000 }, (_, i) => i * 2));
    expect(idx.search(q, 5, { filter: large }).scanned).toBe(n);
  });
});
