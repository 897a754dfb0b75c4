/** `clipdb calibrate`: refits the relevance calibration and shows it, one row per direction. */
import { AUTO_MIN_RELEVANCE, type RelevanceCurve } from "../query/index.js";
import type { Calibration } from "../collection/relevance.js";
import { table } from "./output.js";

const NAMES: Record<string, string> = { t2i: "text→image", i2t: "image→text", i2i: "image→image", t2t: "text→text" };

/** The z-score at which a curve first reaches relevance `r` (null when it never does). */
export function zAt(curve: RelevanceCurve, r: number): number | null {
  const i = curve.r.findIndex((x) => x >= r);
  return i < 0 ? null : curve.z[i];
}

/** The human table: direction, the curve in use (pairs-based where fitted), its side, sample sizes, and the z of the auto cutoff. */
export function calibrationTable(cal: Calibration): string {
  const rows = Object.entries(cal.directions).map(([dir, d]) => {
    const used = d!.pairs ?? d!.free;
    const z = zAt(used, AUTO_MIN_RELEVANCE);
    return [NAMES[dir] ?? dir, used.method, d!.side, used.queries, used.pairs, z === null ? "never" : z.toFixed(2)];
  });
  const head = `fitted ${cal.at} on ${cal.counts.images} images, ${cal.counts.texts} texts, ${cal.counts.pairs} pairs`;
  return `${head}\n${table(["direction", "method", "z side", "queries", "pairs fitted", `z at ${AUTO_MIN_RELEVANCE} (auto)`], rows)}`;
}
