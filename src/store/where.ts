/**
 * Typed metadata filters (issue 12): one checked form, `WhereCond[]`, that both stores turn into
 * SQL with every key and value bound as a parameter (never spliced into the statement).
 *
 * Semantics, the same on SQLite (json) and Postgres (jsonb):
 * - `=`, `!=`, `in` compare the value as text: a JSON string as itself, a number by its JSON text
 *   ("2017", "1.5"), a boolean as "true"/"false"; `!=` also matches items without the key.
 * - `<`, `<=`, `>`, `>=` take a number (compared with JSON numbers only) or a date
 *   `YYYY-MM-DD[THH:MM[:SS]]` (compared with ISO date strings, such as the `taken` recorded at
 *   ingest). A date without a time means that whole day: `<= 2020-12-31` keeps all of Dec 31,
 *   `= 2020-05-03` keeps any time that day, `> 2020-12-31` starts on Jan 1.
 * - `exists` matches items that have the key (any value, null included).
 * Conditions are ANDed. Anything else is INVALID_ARGUMENT with a hint.
 */
import { ClipdbError } from "../core/errors.js";

/** The operators of a filter condition. */
export type WhereOp = "=" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "exists";

/** A value a condition compares with. */
export type WhereValue = string | number | boolean;

/** One condition on a metadata key: `{ key: "taken", op: ">=", value: "2020-01-01" }`. */
export interface WhereCond {
  key: string;
  op: WhereOp;
  /** One value; for `in`, a list; none for `exists`. */
  value?: WhereValue | WhereValue[];
}

/**
 * A metadata filter as a store takes it: an object of key → string (equality, the original form)
 * or a list of typed conditions, all of which must hold.
 */
export type WhereFilter = Record<string, string> | WhereCond[];

/** The operators, for messages and parsers. */
export const WHERE_OPS: readonly WhereOp[] = ["=", "!=", "<", "<=", ">", ">=", "in", "exists"];

/** A checked condition, as the SQL builders read it. */
export type CheckedCond =
  | { key: string; kind: "eq" | "ne"; value: string }
  | { key: string; kind: "in"; values: string[] }
  | { key: string; kind: "num"; op: "<" | "<=" | ">" | ">="; value: number }
  | { key: string; kind: "text"; op: "<" | "<=" | ">" | ">="; value: string }
  | { key: string; kind: "exists" };

const bad = (reason: string, hint?: string): ClipdbError => new ClipdbError("INVALID_ARGUMENT", { name: "where", reason, hint });

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/;

/** The ISO form of a date value (`T` between date and time), or undefined when it is no date. */
export function isoDate(v: string): string | undefined {
  const m = DATE.exec(v.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Date.UTC(+y, +mo - 1, +d, +(h ?? 0), +(mi ?? 0), +(s ?? 0)));
  if (date.getUTCFullYear() !== +y || date.getUTCMonth() !== +mo - 1 || date.getUTCDate() !== +d || +(h ?? 0) > 23 || +(mi ?? 0) > 59 || +(s ?? 0) > 59) {
    throw bad(`'${v}' is not a valid date`, "Write dates as YYYY-MM-DD, optionally with a time: 2020-01-31T18:30.");
  }
  return v.trim().replace(" ", "T");
}

/** The day after a YYYY-MM-DD date, as YYYY-MM-DD. */
function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function checkKey(k: unknown): string {
  if (typeof k !== "string" || k === "" || /["\\\u0000-\u001f\u007f]/.test(k)) {
    throw bad(
      `the key ${JSON.stringify(k)} is empty or contains a double quote, a backslash or a control character`,
      "Use metadata keys made of printable characters other than '\"' and '\\'.",
    );
  }
  return k;
}

function text(key: string, v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "boolean") return String(v);
  throw bad(`the value of '${key}' must be a string, number or boolean, got ${JSON.stringify(v)}`);
}

/** One typed condition checked and lowered; a date without a time becomes a range of that day. */
function lower(c: WhereCond): CheckedCond[] {
  if (c === null || typeof c !== "object") throw bad(`a condition must be an object {key, op, value}, got ${JSON.stringify(c)}`);
  const key = checkKey(c.key);
  const op = c.op;
  if (!WHERE_OPS.includes(op)) {
    throw bad(`unknown operator ${JSON.stringify(op)} for '${key}'`, `Use one of ${WHERE_OPS.join(" ")}.`);
  }
  if (op === "exists") return [{ key, kind: "exists" }];
  if (op === "in") {
    const list = Array.isArray(c.value) ? c.value : [c.value];
    if (list.length === 0 || c.value === undefined) throw bad(`'${key} in' needs at least one value`, "Write key in (a,b,c).");
    return [{ key, kind: "in", values: list.map((v) => text(key, v)) }];
  }
  if (Array.isArray(c.value)) throw bad(`'${op}' on '${key}' takes one value, not a list`, "Use 'in' for a list of values.");
  if (c.value === undefined) throw bad(`'${key} ${op}' has no value`);
  const v = c.value;
  const day = typeof v === "string" && isoDate(v) !== undefined && v.trim().length === 10 ? v.trim() : undefined;
  if (op === "=" || op === "!=") {
    if (day !== undefined && op === "=") return [{ key, kind: "text", op: ">=", value: day }, { key, kind: "text", op: "<", value: nextDay(day) }];
    return [{ key, kind: op === "=" ? "eq" : "ne", value: text(key, v) }];
  }
  if (typeof v === "number" || (typeof v === "string" && /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v))) {
    const n = Number(v);
    if (!Number.isFinite(n)) throw bad(`'${v}' is not a finite number`);
    return [{ key, kind: "num", op, value: n }];
  }
  const iso = typeof v === "string" ? isoDate(v) : undefined;
  if (iso === undefined) {
    throw bad(`'${key} ${op} ${String(v)}' compares with something that is neither a number nor a date`, "'<', '<=', '>' and '>=' take a number (width>=1024) or a date (taken>=2020-01-01); use '=' or 'in' for text.");
  }
  // With a time, compare as given (ISO strings order as the times do).
  if (day === undefined) return [{ key, kind: "text", op, value: iso }];
  if (op === "<") return [{ key, kind: "text", op: "<", value: day }];
  if (op === ">=") return [{ key, kind: "text", op: ">=", value: day }];
  if (op === "<=") return [{ key, kind: "text", op: "<", value: nextDay(day) }];
  return [{ key, kind: "text", op: ">=", value: nextDay(day) }];
}

/**
 * Checks a filter and lowers it to the conditions the stores compile (see the module comment).
 * The object form takes strings only, as before (INVALID_ARGUMENT naming the key otherwise).
 */
export function checkWhere(where: WhereFilter): CheckedCond[] {
  if (Array.isArray(where)) return where.flatMap(lower);
  if (where === null || typeof where !== "object") throw bad("expected an object of key → value strings or a list of conditions");
  return Object.keys(where).map((k) => {
    checkKey(k);
    if (typeof where[k] !== "string") throw bad(`the value of '${k}' is not a string`);
    return { key: k, kind: "eq" as const, value: where[k] };
  });
}

/** The metadata keys a filter names, each once, in order. */
export function whereKeys(where: WhereFilter): string[] {
  return [...new Set(Array.isArray(where) ? where.map((c) => c.key) : Object.keys(where))];
}

/** True when the filter has no condition (every item passes). */
export function isEmptyWhere(where: WhereFilter | undefined): boolean {
  return where === undefined || (Array.isArray(where) ? where.length === 0 : Object.keys(where).length === 0);
}

/** SQLite: the text of meta at a path, booleans as 'true'/'false' (json_extract gives 1/0). */
const SQLITE_TEXT = "(CASE json_type(meta, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(meta, ?) AS TEXT) END)";

/** SQLite condition SQL and its parameters for checked conditions (ANDed; "1" when none). */
export function sqliteWhere(conds: CheckedCond[]): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const c of conds) {
    const path = `$."${c.key}"`;
    switch (c.kind) {
      case "eq":
        parts.push(`${SQLITE_TEXT} = ?`);
        params.push(path, path, c.value);
        break;
      case "ne":
        parts.push(`${SQLITE_TEXT} IS NOT ?`);
        params.push(path, path, c.value);
        break;
      case "in":
        parts.push(`${SQLITE_TEXT} IN (SELECT value FROM json_each(?))`);
        params.push(path, path, JSON.stringify(c.values));
        break;
      case "num":
        parts.push(`(json_type(meta, ?) IN ('integer', 'real') AND json_extract(meta, ?) ${c.op} ?)`);
        params.push(path, path, c.value);
        break;
      case "text":
        parts.push(`(json_type(meta, ?) = 'text' AND json_extract(meta, ?) ${c.op} ?)`);
        params.push(path, path, c.value);
        break;
      case "exists":
        parts.push("json_type(meta, ?) IS NOT NULL");
        params.push(path);
    }
  }
  return { sql: parts.length ? parts.join(" AND ") : "1", params };
}

/**
 * Postgres condition SQL for checked conditions (ANDed; "true" when none), numbering parameters
 * after `params` (which it appends to).
 */
export function pgWhere(conds: CheckedCond[], params: unknown[]): string {
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const parts = conds.map((c) => {
    const k = p(c.key);
    switch (c.kind) {
      case "eq":
        return `meta->>${k} = ${p(c.value)}`;
      case "ne":
        return `meta->>${k} IS DISTINCT FROM ${p(c.value)}`;
      case "in":
        return `meta->>${k} = ANY(${p(c.values)}::text[])`;
      case "num":
        return `(CASE WHEN jsonb_typeof(meta->${k}) = 'number' THEN (meta->>${k})::float8 ${c.op} ${p(c.value)}::float8 ELSE false END)`;
      case "text":
        return `(jsonb_typeof(meta->${k}) = 'string' AND (meta->>${k}) COLLATE "C" ${c.op} ${p(c.value)})`;
      case "exists":
        return `meta->${k} IS NOT NULL`;
    }
  });
  return parts.length ? parts.join(" AND ") : "true";
}
