/**
 * Postgres connection strings for the store: parsing, the collection's schema, a location safe to
 * show (the password replaced by ***), and the mapping of driver failures to ClipdbErrors that
 * name the host and the fix and never carry the password.
 */
import { ClipdbError } from "../core/errors.js";

/** The schema a collection lives in when neither the URL (?schema=) nor the options name one. */
export const DEFAULT_PG_SCHEMA = "clipdb";

/** A parsed `postgres://` location. */
export interface PgTarget {
  /** The connection string for the driver (without clipdb's own `schema` parameter). */
  connectionString: string;
  /** The collection's schema (a plain lower-case SQL identifier). */
  schema: string;
  /** The connection string with its password replaced by *** (and its schema, unless the default). */
  location: string;
  /** Host and port, for messages. */
  host: string;
  port: number;
  /** Strings that must never appear in a message (the password, raw and percent-encoded). */
  secrets: string[];
}

/** True for a location that names a Postgres store (`postgres://` or `postgresql://`). */
export function isPgUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Parses a `postgres://user:password@host:port/db?schema=name` string. The schema is
 * `schemaOpt`, else the URL's `schema` parameter, else DEFAULT_PG_SCHEMA; it must be a lower-case
 * identifier (INVALID_ARGUMENT otherwise, as for a string that is not a postgres:// URL; the
 * message never repeats the string, which may hold a password).
 */
export function parsePgUrl(url: string, schemaOpt?: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "location", reason: "it is not a valid postgres:// connection string", hint: "Write it as postgres://user:password@host:port/database." });
  }
  if (!isPgUrl(url)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "location", reason: `the scheme '${u.protocol}' is not postgres:// or postgresql://` });
  }
  const secrets = [u.password, safeDecode(u.password), u.searchParams.get("password") ?? ""].filter((x) => x.length > 0);
  const schema = schemaOpt ?? u.searchParams.get("schema") ?? DEFAULT_PG_SCHEMA;
  if (!SCHEMA_RE.test(schema)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "schema", reason: `${JSON.stringify(schema)} is not a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters)` });
  }
  u.searchParams.delete("schema");
  const connectionString = u.toString();
  const shown = new URL(connectionString);
  if (shown.password) shown.password = "***";
  if (shown.searchParams.has("password")) shown.searchParams.set("password", "***");
  if (schema !== DEFAULT_PG_SCHEMA) shown.searchParams.set("schema", schema);
  const host = u.hostname || u.searchParams.get("host") || "localhost";
  const port = Number(u.port || u.searchParams.get("port") || 5432);
  return { connectionString, schema, location: shown.toString().replace(/%2A%2A%2A/g, "***"), host, port, secrets };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `text` with every secret replaced by ***. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

const driverErrors = new WeakSet<object>();

/** Marks `e` as thrown by the driver (so it is mapped), and returns it. */
export function fromDriver(e: unknown): unknown {
  if (typeof e === "object" && e !== null) driverErrors.add(e);
  return e;
}

/** True for an error marked by fromDriver (not one thrown by a caller's own code). */
export function isDriverError(e: unknown): boolean {
  return typeof e === "object" && e !== null && driverErrors.has(e);
}

/** Network failures of the driver (errno codes of node:net and node:dns). */
const NET_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE", "ECONNABORTED"]);

/** A driver error without the password (message, code), kept as the ClipdbError's cause. */
function scrubbedCause(e: unknown, secrets: readonly string[]): Error {
  const err = new Error(scrub(e instanceof Error ? e.message : String(e), secrets));
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") Object.assign(err, { code });
  return err;
}

/**
 * STORE_UNAVAILABLE for a failure to reach or use the server (refused, unknown host, timeout,
 * authentication, missing database, connection lost), or undefined when `e` is something else
 * (a SQL error of a statement, for the caller to map).
 */
export function unavailableError(e: unknown, t: PgTarget): ClipdbError | undefined {
  if (e instanceof ClipdbError) return undefined;
  const code = String((e as { code?: unknown })?.code ?? "");
  const msg = e instanceof Error ? e.message : String(e);
  const at = `${t.host}:${t.port}`;
  const make = (reason: string, hint: string): ClipdbError =>
    new ClipdbError("STORE_UNAVAILABLE", { location: t.location, host: t.host, port: t.port, reason: scrub(reason, t.secrets), hint }, { cause: scrubbedCause(e, t.secrets) });
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(t.host);
  const reachHint =
    `Check that Postgres is running and accepts TCP connections on ${at}, and that the connection string is right` +
    (local ? ` (for development, 'npm run pg -- --port ${t.port}' serves one there).` : ".");
  if (!/^[0-9A-Z]{5}$/.test(code)) {
    // Not a SQLSTATE: the socket, DNS, a timeout, or the driver seeing the connection end.
    if (NET_CODES.has(code)) {
      const what = code === "ECONNREFUSED" ? "the connection was refused" : code === "ENOTFOUND" || code === "EAI_AGAIN" ? `the host '${t.host}' was not found` : `the connection failed (${code})`;
      return make(`cannot connect to ${at}: ${what}`, reachHint);
    }
    if (/timeout|timed out/i.test(msg)) return make(`connecting to ${at} timed out`, `${reachHint} A server that accepts but does not answer may be overloaded, or not Postgres.`);
    if (/Connection terminated|connection.*(closed|ended)|connection error|Too many connections|not queryable/i.test(msg)) {
      return make(`the connection to ${at} was closed (${msg})`, `${reachHint} The server may have stopped, or have no free connection slot.`);
    }
    return undefined;
  }
  if (code === "28P01" || code === "28000") {
    return make(`authentication failed at ${at} (${msg})`, "Check the user name and password of the connection string (or PGUSER and PGPASSWORD).");
  }
  if (code === "3D000") return make(`the database does not exist at ${at} (${msg})`, "Create it (CREATE DATABASE name) or fix the database name in the connection string.");
  if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300") {
    return make(`the server at ${at} refused or dropped the connection (${code}: ${msg})`, reachHint);
  }
  return undefined;
}
