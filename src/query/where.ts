/**
 * Metadata filters written as text (`--where 'taken>=2020-01-01'`, `camera in (Canon,Nikon)`),
 * parsed into the typed conditions the stores take (store/where.ts). Values stay text here; the
 * store's check decides what a value is (a number or a date for `<`, a list for `in`).
 */
import { ClipdbError } from "../core/errors.js";
import { WHERE_OPS, checkWhere, whereKeys, type StoreReader, type WhereCond, type WhereFilter } from "../store/index.js";

/** A filter as the library, CLI and HTTP API accept it: the object form, or conditions and expressions. */
export type WhereInput = Record<string, string> | (WhereCond | string)[];

const OPS = ["!=", "<=", ">=", "=", "<", ">"] as const;

const usage = "Write key=value, key!=value, key<number, key>=YYYY-MM-DD or key in (a,b).";

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && ((t[0] === '"' && t.endsWith('"')) || (t[0] === "'" && t.endsWith("'"))) ? t.slice(1, -1) : t;
}

/**
 * Parses one filter expression: `key OP value` with OP one of `= != < <= > >=`, or
 * `key in (a, b, c)` (values may be quoted). Spaces around the operator are allowed.
 *
 * @throws ClipdbError INVALID_ARGUMENT naming the expression (no operator, unknown operator, no key)
 */
export function parseWhereExpr(expr: string): WhereCond {
  const inMatch = /^(.+?)\s+in\s*\((.*)\)\s*$/is.exec(expr);
  if (inMatch) {
    const key = inMatch[1].trim();
    const values = inMatch[2].split(",").map(unquote).filter((v) => v !== "");
    if (!values.length) throw new ClipdbError("INVALID_ARGUMENT", { name: "where", reason: `'${expr}' lists no values`, hint: "Write key in (a,b)." });
    return { key, op: "in", value: values };
  }
  // The first operator character splits key and value; `<=` and `>=` and `!=` are read whole.
  const at = expr.search(/[=<>!]/);
  if (at <= 0) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "where", reason: at === 0 ? `'${expr}' has no key before its operator` : `'${expr}' has no operator`, hint: usage });
  }
  const rest = expr.slice(at);
  const op = OPS.find((o) => rest.startsWith(o));
  const after = op === undefined ? "" : rest.slice(op.length);
  if (op === undefined || /^[=<>!]/.test(after)) {
    const bad = /^[=<>!~]+/.exec(rest)?.[0] ?? rest[0];
    throw new ClipdbError("INVALID_ARGUMENT", { name: "where", reason: `unknown operator '${bad}' in '${expr}'`, hint: `Operators: ${WHERE_OPS.filter((o) => o !== "exists").join(" ")}. ${usage}` });
  }
  return { key: expr.slice(0, at).trim(), op, value: unquote(after) };
}

/**
 * Turns a filter input into the store's form, checked (so a bad filter fails before any search):
 * expressions are parsed, conditions kept, the object form passed as it is.
 */
export function toWhereFilter(where: WhereInput): WhereFilter {
  const out: WhereFilter = Array.isArray(where) ? where.map((w) => (typeof w === "string" ? parseWhereExpr(w) : w)) : where;
  checkWhere(out);
  return out;
}

/**
 * A hint for an empty filtered search: the filter's keys that no item has at all ("no item has
 * the metadata key 'lang'"), or undefined when every key exists somewhere. Cost: one indexed-free
 * scan of the items table per key, only after a search came back empty.
 */
export async function missingKeysHint(store: StoreReader, where: WhereFilter): Promise<string | undefined> {
  const missing: string[] = [];
  for (const key of whereKeys(where)) if ((await store.offsetsWhere([{ key, op: "exists" }])).length === 0) missing.push(key);
  if (!missing.length) return undefined;
  const names = missing.map((k) => `'${k}'`).join(", ");
  return `No item has the metadata key${missing.length > 1 ? "s" : ""} ${names}, so nothing can match. Images get taken, camera, cameraModel, width, height, orientation, lat, lon, bytes and mtime at ingest; other keys come from the metadata you add (JSONL --texts, the API's meta field, the library).`;
}
