import type { VectorIndex } from "../core/types.js";
import type { PlanIndex } from "./plan.js";
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

/**
 * `tuneSetting` for indexes that may answer asynchronously (a store's pushed-down search, such as
 * pgvector's HNSW with `hnsw.ef_search` against exact `ORDER BY <#>`), one query at a time. Same
 * order, stopping rule and result; cost: one exact pass plus one pass per setting tried, each query
 * a round trip when the index is remote.
 */
export async function tuneSettingAsync(
  index: PlanIndex,
  exact: PlanIndex,
  queries: Float32Array[],
  param: "nprobe" | "ef",
  values: number[],
  target: number,
  k = 10,
): Promise<{ value: number; reached: boolean; curve: TunePoint[] }> {
  const truth: Uint32Array[] = [];
  for (const q of queries) truth.push((await exact.search(q, k)).offsets);
  const curve: TunePoint[] = [];
  for (const value of [...values].sort((a, b) => a - b)) {
    const got: Uint32Array[] = [];
    for (const q of queries) got.push((await index.search(q, k, { [param]: value })).offsets);
    const recall = recallVsExact(got, truth, k);
    curve.push({ value, recall });
    if (recall >= target) return { value, reached: true, curve };
  }
  return { value: curve[curve.length - 1]?.value ?? values[0], reached: false, curve };
}
