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

/**
 * Checks that exactly one of text, image, item or vector is given (INVALID_ARGUMENT otherwise)
 * and returns it tagged. An empty text or an empty vector is refused.
 */
export function parseQuery(q: RawQuery): ParsedQuery {
  const given = (["text", "image", "item", "vector"] as const).filter((k) => q[k] !== undefined && q[k] !== null);
  if (given.length !== 1) {
    throw new ClipdbError("INVALID_ARGUMENT", {
      name: "query",
      reason: given.length === 0 ? "no query given" : `got ${given.join(" and ")}`,
      hint: "Give exactly one of text, image, item or vector.",
    });
  }
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
