import Database from "better-sqlite3";
import { ClipdbError } from "../core/errors.js";

/** The database file name inside a collection directory. */
export const DB_FILE = "clipdb.sqlite";

/** The better-sqlite3 connection type. */
export type Db = Database.Database;

/**
 * Turns a SQLite failure into a ClipdbError that says what to do: a corrupt or foreign file
 * gives STORE_CORRUPT, a lock held past the busy timeout LOCK_TIMEOUT, a full disk DISK_FULL, and
 * other I/O failures (permissions, read-only, cannot open) STORE_IO.
 * ClipdbErrors and non-SQLite errors pass through unchanged.
 */
export function translateSqliteError(e: unknown, file: string): unknown {
  if (!(e instanceof Database.SqliteError)) return e;
  const code = e.code;
  if (code === "SQLITE_NOTADB") {
    return new ClipdbError(
      "STORE_CORRUPT",
      { path: file, reason: "the file is not a SQLite database (overwritten or not a clipdb collection)", hint: RESTORE_HINT },
      { cause: e },
    );
  }
  if (code.startsWith("SQLITE_CORRUPT")) {
    return new ClipdbError("STORE_CORRUPT", { path: file, reason: `the database is damaged (${e.message})`, hint: RESTORE_HINT }, { cause: e });
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new ClipdbError("LOCK_TIMEOUT", { path: file, reason: `${code} after the busy timeout` }, { cause: e });
  }
  if (code === "SQLITE_FULL") return new ClipdbError("DISK_FULL", { path: file }, { cause: e });
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_READONLY")) {
    return new ClipdbError("STORE_IO", { path: file, reason: `${code}: ${e.message}` }, { cause: e });
  }
  return e;
}

const RESTORE_HINT = "Restore it from a backup, or point --db at another directory and add the files again.";
