/**
 * Query arithmetic (issue 12): one query made of several inputs with weights,
 * `{ text: "a dog", plus: [{ image }], minus: [{ text: "grass" }] }`.
 *
 * The formula: every input is embedded and L2-normalised (e_i), then
 *
 *     q = normalize( w_0·e_0 + Σ_plus w_i·e_i − Σ_minus w_j·e_j )
 *
 * where e_0 is the main query (weight w_0 = 1; it may be left out when `plus` is given) and each
 * term's weight defaults to 1. So `plus` with weight w moves the query towards e_i in proportion
 * to w: before normalising, q·e_i grows by exactly w (for unit e_i). When the sum's norm is below
 * CANCEL_EPS × (sum of |weights|), the inputs cancel out (`a − a`) and the query is refused with
 * INVALID_ARGUMENT (name "query"): there is no direction left to search in.
 */
import { ClipdbError } from "../core/errors.js";
import { parseQuery, type ParsedQuery, type RawQuery } from "./input.js";

/** One extra input of a combined query: exactly one of text, image, item or vector, and a weight (default 1). */
export interface RawTerm extends RawQuery {
  /** Default 1; must be a finite number > 0 (the sign comes from plus or minus). */
  weight?: number;
}

/** A validated term: its input, signed weight (+w for plus, −w for minus). */
export interface ParsedTerm {
  input: ParsedQuery;
  weight: number;
}

/** Relative norm under which a combined query counts as cancelled; default 1e-3. */
export const CANCEL_EPS = 1e-3;

/** Largest number of plus and minus terms together; default 16. */
export const MAX_TERMS = 16;

function checkWeight(w: unknown, where: string): number {
  if (w === undefined) return 1;
  if (typeof w !== "number" || !Number.isFinite(w) || w <= 0 || w > 100) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: `${where}.weight`, reason: `expected a number > 0 and ≤ 100, got ${JSON.stringify(w)}`, hint: "The sign comes from plus or minus; give a positive weight." });
  }
  return w;
}

/**
 * Validates a combined query: the main input (optional when `plus` is given) and its terms, in
 * order main, plus…, minus…. INVALID_ARGUMENT for a bad term, a bad weight, more than MAX_TERMS
 * terms, or no input at all.
 */
export function parseCombined(q: RawQuery & { plus?: RawTerm[]; minus?: RawTerm[] }): ParsedTerm[] {
  const plus = q.plus ?? [];
  const minus = q.minus ?? [];
  if (!Array.isArray(plus) || !Array.isArray(minus)) throw new ClipdbError("INVALID_ARGUMENT", { name: "query", reason: "plus and minus must be arrays of inputs" });
  if (plus.length + minus.length > MAX_TERMS) throw new ClipdbError("INVALID_ARGUMENT", { name: "query", reason: `${plus.length + minus.length} plus/minus terms (at most ${MAX_TERMS})` });
  const main = (["text", "image", "item", "vector"] as const).some((k) => q[k] !== undefined && q[k] !== null);
  if (!main && plus.length === 0) {
    throw new ClipdbError("INVALID_ARGUMENT", {
      name: "query",
      reason: minus.length ? "only minus terms given" : "no query given",
      hint: "Give one of text, image, item or vector, or at least one plus term.",
    });
  }
  const out: ParsedTerm[] = [];
  if (main) out.push({ input: parseQuery({ text: q.text, image: q.image, item: q.item, vector: q.vector }), weight: 1 });
  plus.forEach((t, i) => out.push({ input: parseQuery(termInput(t, `plus[${i}]`), `plus[${i}]`), weight: checkWeight(t?.weight, `plus[${i}]`) }));
  minus.forEach((t, i) => out.push({ input: parseQuery(termInput(t, `minus[${i}]`), `minus[${i}]`), weight: -checkWeight(t?.weight, `minus[${i}]`) }));
  return out;
}

function termInput(t: RawTerm, where: string): RawQuery {
  if (typeof t !== "object" || t === null) throw new ClipdbError("INVALID_ARGUMENT", { name: where, reason: "expected an object with one of text, image, item or vector" });
  return { text: t.text, image: t.image, item: t.item, vector: t.vector };
}

/**
 * The combined query vector: normalize(Σ w_i·e_i) over unit rows e_i (`dim` each, in `vectors`).
 *
 * @throws ClipdbError INVALID_ARGUMENT (name "query") when the weighted sum cancels to ~zero
 */
export function combineVectors(vectors: Float32Array, weights: number[], dim: number): Float32Array {
  const sum = new Float64Array(dim);
  let total = 0;
  weights.forEach((w, i) => {
    total += Math.abs(w);
    for (let d = 0; d < dim; d++) sum[d] += w * vectors[i * dim + d];
  });
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += sum[d] * sum[d];
  norm = Math.sqrt(norm);
  if (!(norm > CANCEL_EPS * total)) {
    throw new ClipdbError("INVALID_ARGUMENT", {
      name: "query",
      reason: `its inputs cancel out (the weighted sum has norm ${norm.toExponential(2)}, under ${CANCEL_EPS} × the total weight ${total})`,
      hint: "A minus term removes as much as the matching plus term adds; lower its weight or change the inputs.",
    });
  }
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = sum[d] / norm;
  return out;
}
