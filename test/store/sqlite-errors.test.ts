/**
 * SQLite's own failures become errors with codes of their own that say what to do: a full disk
 * (SQLite's SQLITE_FULL, produced here with max_page_count), a lock held past the busy timeout
 * (a second real connection), a file that cannot be written. Never INTERNAL's "please report it".
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { isClipdbError } from "../../src/core/errors.js";
import { translateSqliteError } from "../../src/store/sqlite.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-sqlerr-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function failure(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

describe("SQLite failures", () => {
  it("a full database is DISK_FULL, a user error saying to free space", () => {
    const file = path.join(tmp, "full.sqlite");
    const db = new Database(file);
    db.exec("CREATE TABLE t (b BLOB)");
    db.pragma("max_page_count = 8");
    const e = translateSqliteError(failure(() => {
      for (let i = 0; i < 100; i++) db.prepare("INSERT INTO t VALUES (?)").run(Buffer.alloc(4096));
    }), file);
    db.close();
    expect(isClipdbError(e, "DISK_FULL")).toBe(true);
    expect((e as Error).message).toMatch(/full.*Free some space/);
    expect((e as { kind: string }).kind).toBe("user");
  });

  it("a lock held by another writer past the busy timeout is LOCK_TIMEOUT", () => {
    const file = path.join(tmp, "locked.sqlite");
    const a = new Database(file);
    a.exec("CREATE TABLE t (x)");
    const b = new Database(file, { timeout: 0 });
    a.exec("BEGIN IMMEDIATE");
    const e = translateSqliteError(failure(() => b.exec("BEGIN IMMEDIATE")), file);
    a.exec("ROLLBACK");
    a.close();
    b.close();
    expect(isClipdbError(e, "LOCK_TIMEOUT")).toBe(true);
    expect((e as Error).message).toMatch(/another writer.*retry/);
  });

  it.skipIf(process.getuid?.() === 0)("a file that cannot be written is STORE_IO", () => {
    const file = path.join(tmp, "ro.sqlite");
    new Database(file).exec("CREATE TABLE t (x)");
    chmodSync(file, 0o444);
    const db = new Database(file);
    const e = translateSqliteError(failure(() => db.exec("INSERT INTO t VALUES (1)")), file);
    db.close();
    expect(isClipdbError(e, "STORE_IO")).toBe(true);
  });

  it("a read-only connection's write is STORE_IO", () => {
    const file = path.join(tmp, "ro2.sqlite");
    new Database(file).exec("CREATE TABLE t (x)");
    const db = new Database(file, { readonly: true });
    const e = translateSqliteError(failure(() => db.exec("INSERT INTO t VALUES (1)")), file);
    db.close();
    expect(isClipdbError(e, "STORE_IO")).toBe(true);
    expect((e as Error).message).toMatch(/permissions/);
  });
});
