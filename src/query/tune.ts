import type { VectorIndex } from "../core/types.js";
import { recallVsExact } from "./metrics.js";

/** One point of a tuning curve: a setting and the recall@k against exact it gives. */
export interface TunePoint {
  value: number;
  recall: number;
}

/**
 * Finds the smallest setting (nprobe for IVF, ef for HNSW) whose mean recall@k against the exact
 * index reaches `target` on the given queries. Settings are tried in increasing order and the
 * search stops at the first that reaches it; when none does, the largest is returned with
 * `reached: false`. Cost: one exact pass plus one pass per setting tried.
 */
export function tuneSetting(
  index: VectorIndex,
  exact: VectorIndex,
  queries: Float32Array[],
  param: "nprobe" | "ef",
  values: number[],
  target: number,
  k = 10,
): { value: number; reached: boolean; curve: TunePoint[] } {
  const truth = queries.map((q) => exact.search(q, k).offsets);
  const curve: TunePoint[] = [];
  for (const value of [...values].sort((a, b) => a - b)) {
    const got = queries.map((q) => index.search(q, k, { [param]: value }).offsets);
    const recall = recallVsExact(got, truth, k);
    curve.push({ value, recall });
    if (recall >= target) return { value, reached: true, curve };
  }
  return { value: curve[curve.length - 1]?.value ?? values[0], reached: false, curve };
}
