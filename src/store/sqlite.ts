import Database from "better-sqlite3";
import { ClipdbError } from "../core/errors.js";

/** The database file name inside a collection directory. */
export const DB_FILE = "clipdb.sqlite";

/** The better-sqlite3 connection type. */
export type Db = Database.Database;

/**
 * Turns a SQLite failure into a ClipdbError that says what to do: a corrupt or foreign file
 * gives STORE_CORRUPT, a lock held too long or a full disk gives INTERNAL with the reason.
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
    return new ClipdbError(
      "INTERNAL",
      { reason: `the collection at '${file}' stayed locked by another writer past the busy timeout (${code}); wait for the other process to finish and retry` },
      { cause: e },
    );
  }
  if (code === "SQLITE_FULL") {
    return new ClipdbError("INTERNAL", { reason: `the disk holding '${file}' is full; free space and retry (committed batches are kept)` }, { cause: e });
  }
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_READONLY")) {
    return new ClipdbError("INTERNAL", { reason: `cannot read or write '${file}' (${code}: ${e.message}); check the file's permissions and disk` }, { cause: e });
  }
  return e;
}

const RESTORE_HINT = "Restore it from a backup, or point --db at another directory and add the files again.";
