import { describe, expect, it } from "vitest";
import { hitAtK, percentile, recallAtK, recallVsExact } from "../../src/query/metrics.js";

// Hand-computed: three queries; q1 has two correct targets.
//   q0 truth {10}      ranked [99, 10, 98]   -> correct at rank 2
//   q1 truth {20, 21}  ranked [20, 97, 21]   -> 20 at rank 1, 21 at rank 3
//   q2 truth {30}      ranked [97, 99, 98]   -> never
const ranked = [[99, 10, 98], [20, 97, 21], [97, 99, 98]];
const truth = [new Set([10]), new Set([20, 21]), new Set([30])];

describe("retrieval metrics", () => {
  it("Recall@K counts a query when any correct target is in its top K", () => {
    expect(recallAtK(ranked, truth, 1)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, truth, 2)).toBeCloseTo(2 / 3, 12);
    expect(recallAtK(ranked, truth, 3)).toBeCloseTo(2 / 3, 12);
  });
  it("hit@k counts every (query, own target) pair on its own", () => {
    // pairs: (q0,10) rank 2; (q1,20) rank 1; (q1,21) rank 3; (q2,30) absent
    expect(hitAtK(ranked, truth, 1)).toBe(1 / 4);
    expect(hitAtK(ranked, truth, 2)).toBe(2 / 4);
    expect(hitAtK(ranked, truth, 3)).toBe(3 / 4);
  });
  it("recall against exact is the mean top-k overlap", () => {
    expect(recallVsExact([[1, 2], [3, 9]], [[1, 2], [3, 4]], 2)).toBe(0.75);
  });
  it("percentile uses nearest rank", () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 99)).toBe(5);
    expect(percentile([], 50)).toBe(0);
  });
});
