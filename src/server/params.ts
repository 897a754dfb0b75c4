import { ClipdbError } from "../core/errors.js";
import type { IndexChoice, QueryInput, SearchMode, SearchParams } from "../collection/types.js";
import { indexChoices } from "../collection/index.js";
import { SORT_ORDERS, type SortOrder, type WhereInput } from "../query/index.js";
import { MAX_K, SEARCH_MODES } from "./schemas.js";
import type { SearchBody } from "./schemas-search.js";
import { parseMinRelevance } from "../query/relevance.js";
import { parseTerms } from "./terms.js";

/** Search options as they arrive: typed JSON (already schema-checked) or multipart strings. */
export interface RawSearchOptions {
  k?: unknown;
  modality?: unknown;
  index?: unknown;
  nprobe?: unknown;
  ef?: unknown;
  where?: unknown;
  minRelevance?: unknown;
  adapt?: unknown;
  sort?: unknown;
  mode?: unknown;
}

const bad = (name: string, reason: string, hint?: string): ClipdbError =>
  new ClipdbError("INVALID_ARGUMENT", { name, reason, hint });

function int(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw bad(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T | undefined {
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw bad(name, `expected one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function whereFilter(v: unknown): WhereInput | undefined {
  if (v === undefined || v === "") return undefined;
  let obj = v;
  if (typeof v === "string") {
    try {
      obj = JSON.parse(v);
    } catch {
      throw bad("where", "not valid JSON", 'Send a JSON object of strings, e.g. {"split":"val"}, or a list of conditions, e.g. ["taken>=2020-01-01"].');
    }
  }
  if (Array.isArray(obj)) return obj as WhereInput;
  if (typeof obj !== "object" || obj === null) throw bad("where", "expected an object of key → value strings or a list of conditions");
  const out: Record<string, string> = {};
  for (const [key, val] of Object.entries(obj)) {
    if (typeof val !== "string" && typeof val !== "number" && typeof val !== "boolean") {
      throw bad("where", `value of '${key}' must be a string, number or boolean`);
    }
    out[key] = String(val);
  }
  return out;
}

/**
 * Turns raw search options (JSON or multipart fields) into SearchParams, checking types and ranges.
 * Unset options stay unset, so the collection's defaults (k 10, auto, tuned nprobe/ef) apply.
 *
 * @throws ClipdbError INVALID_ARGUMENT with the offending option's name
 */
export function parseSearchParams(raw: RawSearchOptions): SearchParams {
  const params: SearchParams = {};
  const k = int("k", raw.k, 1, MAX_K);
  if (k !== undefined) params.k = k;
  const modality = oneOf("modality", raw.modality, ["image", "text", "any"] as const);
  if (modality !== undefined) params.modality = modality;
  const index = oneOf<IndexChoice>("index", raw.index, indexChoices());
  if (index !== undefined) params.index = index;
  const nprobe = int("nprobe", raw.nprobe, 1, 65536);
  if (nprobe !== undefined) params.nprobe = nprobe;
  const ef = int("ef", raw.ef, 1, 100000);
  if (ef !== undefined) params.ef = ef;
  const mode = oneOf<SearchMode>("mode", raw.mode, SEARCH_MODES as readonly SearchMode[]);
  if (mode !== undefined) params.mode = mode;
  const where = whereFilter(raw.where);
  if (where !== undefined) params.where = where;
  const minRelevance = parseMinRelevance(raw.minRelevance);
  if (minRelevance !== undefined) params.minRelevance = minRelevance;
  if (raw.adapt !== undefined && raw.adapt !== "") {
    if (raw.adapt === true || raw.adapt === "true") params.adapt = true;
    else if (raw.adapt === false || raw.adapt === "false") params.adapt = false;
    else throw bad("adapt", `expected true or false, got ${JSON.stringify(raw.adapt)}`);
  }
  const sort = oneOf<SortOrder>("sort", raw.sort, SORT_ORDERS);
  if (sort !== undefined) params.sort = sort;
  return params;
}

/**
 * The query of POST /search, as the collection takes it: the body's text, item or vector (as a
 * Float32Array) and its plus/minus terms. Whether exactly one was given is the query layer's check
 * (parseQuery), which names the fields; this only converts.
 *
 * @throws ClipdbError INVALID_ARGUMENT for a malformed term
 */
export function parseSearchQuery(body: SearchBody): QueryInput {
  const plus = parseTerms("plus", body.plus);
  const minus = parseTerms("minus", body.minus);
  return {
    ...(body.text !== undefined ? { text: body.text } : {}),
    ...(body.item !== undefined ? { item: body.item } : {}),
    ...(body.vector !== undefined ? { vector: Float32Array.from(body.vector) } : {}),
    ...(plus?.length ? { plus } : {}),
    ...(minus?.length ? { minus } : {}),
  };
}

/**
 * Parses the `meta` field of an upload: a JSON object, or nothing.
 *
 * @throws ClipdbError INVALID_ARGUMENT when it is not a JSON object
 */
export function parseMeta(v: string | undefined): Record<string, unknown> | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(v);
  } catch {
    throw bad("meta", "not valid JSON", 'Send a JSON object, e.g. {"source":"upload"}.');
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw bad("meta", "expected a JSON object");
  return obj as Record<string, unknown>;
}
