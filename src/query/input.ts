import { ClipdbError } from "../core/errors.js";

/** A query, as given by a caller: exactly one field is set. */
export interface RawQuery {
  text?: string;
  image?: string | Buffer;
  item?: string;
  vector?: Float32Array | number[];
}

/** A validated query: its kind and value. */
export type ParsedQuery =
  | { kind: "text"; text: string }
  | { kind: "image"; image: string | Buffer }
  | { kind: "item"; item: string }
  | { kind: "vector"; vector: Float32Array };

/** The inputs a query may have, as the library and the HTTP API name them. */
export const QUERY_INPUTS = ["text", "image", "item", "vector"] as const satisfies readonly (keyof RawQuery)[];

/**
 * The one check of the rule "exactly one query input": INVALID_ARGUMENT (named `where`) unless
 * `given` holds exactly one name; the error names the inputs given ("several queries given (text,
 * item)") or says none was, and its hint lists `names`. Every front end's query comes here through
 * parseQuery; the CLI calls it with its flag names before it reads a query file.
 *
 * @param given the names of the inputs given
 * @param names the names to list in the hint; default QUERY_INPUTS
 * @param where the argument named in the error; default "query" (a term: "plus[0]")
 */
export function requireOneQuery(given: readonly string[], names: readonly string[] = QUERY_INPUTS, where = "query"): void {
  if (given.length === 1) return;
  const list = `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
  throw new ClipdbError("INVALID_ARGUMENT", {
    name: where,
    reason: given.length === 0 ? "no query given" : `several queries given (${given.join(", ")})`,
    hint: `Give exactly one of ${list}.`,
  });
}

/**
 * Checks that exactly one of text, image, item or vector is given (INVALID_ARGUMENT otherwise, see
 * requireOneQuery) and returns it tagged. An empty text or an empty vector is refused.
 *
 * @param where the argument named in errors; default "query" (a term: "plus[0]")
 */
export function parseQuery(q: RawQuery, where = "query"): ParsedQuery {
  requireOneQuery(QUERY_INPUTS.filter((k) => q[k] !== undefined && q[k] !== null), QUERY_INPUTS, where);
  if (q.text !== undefined) {
    if (typeof q.text !== "string" || q.text.trim() === "") throw new ClipdbError("INVALID_ARGUMENT", { name: "text", reason: "empty text" });
    return { kind: "text", text: q.text };
  }
  if (q.image !== undefined) return { kind: "image", image: q.image };
  if (q.item !== undefined) {
    if (typeof q.item !== "string" || q.item === "") throw new ClipdbError("INVALID_ARGUMENT", { name: "item", reason: "empty id" });
    return { kind: "item", item: q.item };
  }
  const v = q.vector!;
  if (!(v instanceof Float32Array) && !(Array.isArray(v) && v.every((x) => typeof x === "number"))) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "vector", reason: "must be an array of numbers" });
  }
  if (v.length === 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "vector", reason: "empty vector" });
  return { kind: "vector", vector: Float32Array.from(v) };
}
