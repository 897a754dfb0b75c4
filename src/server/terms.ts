/**
 * Query arithmetic over HTTP (issue 12): `plus` and `minus` terms in the JSON body of /search, and
 * in the multipart fields of /search/image, where the uploaded image is the main query or, with
 * `imageAs: "plus" | "minus"`, one more term (weight `imageWeight`) of a text or item query.
 */
import { ClipdbError } from "../core/errors.js";
import type { QueryInput, QueryTerm } from "../collection/types.js";
import { MAX_HTTP_TERMS } from "./schemas-search.js";

const bad = (name: string, reason: string, hint?: string): ClipdbError => new ClipdbError("INVALID_ARGUMENT", { name, reason, hint });

/** A term list from JSON (already schema-checked) or a multipart field (a JSON string). */
export function parseTerms(name: "plus" | "minus", v: unknown): QueryTerm[] | undefined {
  if (v === undefined || v === "") return undefined;
  let arr = v;
  if (typeof v === "string") {
    try {
      arr = JSON.parse(v);
    } catch {
      throw bad(name, "not valid JSON", `Send a JSON array of terms, e.g. [{"text":"grass","weight":0.5}].`);
    }
  }
  if (!Array.isArray(arr)) throw bad(name, "expected an array of terms");
  if (arr.length > MAX_HTTP_TERMS) throw bad(name, `${arr.length} terms (at most ${MAX_HTTP_TERMS})`);
  return arr.map((t, i) => {
    if (typeof t !== "object" || t === null || Array.isArray(t)) throw bad(`${name}[${i}]`, "expected an object with one of text, item or vector");
    const keys = Object.keys(t).filter((k) => !["text", "item", "vector", "weight"].includes(k));
    if (keys.length) throw bad(`${name}[${i}].${keys[0]}`, "unknown field", "A term has text, item or vector, and weight.");
    const { text, item, vector, weight } = t as { text?: unknown; item?: unknown; vector?: unknown; weight?: unknown };
    if (text !== undefined && typeof text !== "string") throw bad(`${name}[${i}].text`, "expected a string");
    if (item !== undefined && typeof item !== "string") throw bad(`${name}[${i}].item`, "expected a string");
    if (vector !== undefined && !(Array.isArray(vector) && vector.every((x) => typeof x === "number"))) throw bad(`${name}[${i}].vector`, "expected an array of numbers");
    if (weight !== undefined && typeof weight !== "number") throw bad(`${name}[${i}].weight`, "expected a number");
    return {
      ...(text !== undefined ? { text } : {}),
      ...(item !== undefined ? { item } : {}),
      ...(vector !== undefined ? { vector: Float32Array.from(vector as number[]) } : {}),
      ...(weight !== undefined ? { weight } : {}),
    } as QueryTerm;
  });
}

/**
 * The query of a /search/image upload: the image as the main query (default), or, with
 * `imageAs` "plus"/"minus", as a term of weight `imageWeight` beside the `text` or `item` field.
 */
export function uploadQuery(image: Buffer, fields: Record<string, string>): QueryInput {
  const plus = parseTerms("plus", fields.plus) ?? [];
  const minus = parseTerms("minus", fields.minus) ?? [];
  const as = fields.imageAs ?? "query";
  if (!["query", "plus", "minus"].includes(as)) throw bad("imageAs", `expected query, plus or minus, got ${JSON.stringify(as)}`);
  const main = { ...(fields.text ? { text: fields.text } : {}), ...(fields.item ? { item: fields.item } : {}) };
  if (as === "query") {
    if (Object.keys(main).length) throw bad("imageAs", "the image is the main query, and a text or item was given too", "Send imageAs=plus (or minus) to combine them.");
    return { image, ...(plus.length ? { plus } : {}), ...(minus.length ? { minus } : {}) };
  }
  const w = fields.imageWeight === undefined || fields.imageWeight === "" ? undefined : Number(fields.imageWeight);
  if (w !== undefined && !(Number.isFinite(w) && w > 0 && w <= 100)) throw bad("imageWeight", `expected a number > 0 and ≤ 100, got ${JSON.stringify(fields.imageWeight)}`);
  const term: QueryTerm = { image, ...(w === undefined ? {} : { weight: w }) };
  if (as === "plus") plus.push(term);
  else minus.push(term);
  return { ...main, ...(plus.length ? { plus } : {}), ...(minus.length ? { minus } : {}) };
}
