/**
 * Result orders (issue 12): by relevance (the search's own order), or by the date an image was
 * taken (`meta.taken`, an ISO date recorded at ingest), oldest or newest first.
 */
import { ClipdbError } from "../core/errors.js";

/** How results are ordered: "relevance" (default, best first), "taken" (oldest first) or "-taken" (newest first). */
export type SortOrder = "relevance" | "taken" | "-taken";

/** The orders, for messages and schemas. */
export const SORT_ORDERS: readonly SortOrder[] = ["relevance", "taken", "-taken"];

/** INVALID_ARGUMENT unless `v` is a SortOrder (undefined stays undefined). */
export function checkSort(v: unknown): SortOrder | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !(SORT_ORDERS as readonly string[]).includes(v)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "sort", reason: `'${String(v)}' is not one of ${SORT_ORDERS.join(", ")}`, hint: "Sort by relevance (default), taken (oldest first) or -taken (newest first)." });
  }
  return v as SortOrder;
}

/** The date taken of a hit's metadata, or undefined when it has none. */
function takenOf(meta: Record<string, unknown>): string | undefined {
  const t = meta.taken;
  return typeof t === "string" && t !== "" ? t : undefined;
}

/**
 * Reorders hits (already the top matches, best first) by date taken; items without a date go
 * last, in relevance order; equal dates keep relevance order. "relevance" returns them as they are.
 * Ranks are renumbered to the new order. Cost: one sort of the k hits.
 */
export function sortHits<H extends { rank: number; meta: Record<string, unknown> }>(hits: H[], order: SortOrder | undefined): H[] {
  if (order === undefined || order === "relevance") return hits;
  const dir = order === "taken" ? 1 : -1;
  const keyed = hits.map((h, i) => ({ h, i, t: takenOf(h.meta) }));
  keyed.sort((a, b) => {
    if (a.t === undefined || b.t === undefined) return a.t === b.t ? a.i - b.i : a.t === undefined ? 1 : -1;
    return a.t < b.t ? -dir : a.t > b.t ? dir : a.i - b.i;
  });
  return keyed.map(({ h }, i) => ({ ...h, rank: i + 1 }));
}
