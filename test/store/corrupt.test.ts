import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { DB_FILE, MIGRATIONS, SCHEMA_VERSION, Store, migrate } from "../../src/store/index.js";
import { vectorsFor } from "./fixtures/gen.js";
import { cleanupTmp, item, tmpDir } from "./helpers.js";

afterEach(cleanupTmp);

/** A closed collection with n images of dim 64 (about 0.7 MB for 2000). */
function makeCollection(n = 2000): { dir: string; file: string } {
  const dir = tmpDir();
  const s = Store.open(dir);
  s.setModel("m", 64);
  const ids = Array.from({ length: n }, (_, i) => `i${i}`);
  s.addItems(ids.map((id) => item(id, "image")), vectorsFor(ids, 64));
  s.close();
  return { dir, file: path.join(dir, DB_FILE) };
}

function overwrite(file: string, at: number, bytes: Buffer): void {
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, bytes, 0, bytes.length, at);
  fs.closeSync(fd);
}

describe("corrupt or foreign files", () => {
  it("gives STORE_CORRUPT, naming the file, when clipdb.sqlite is garbage", () => {
    const { dir, file } = makeCollection();
    const garbage = Buffer.alloc(fs.statSync(file).size);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 255;
    fs.writeFileSync(file, garbage);
    expect(() => Store.open(dir)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", kind: "user", message: expect.stringContaining(file) }));
    expect(() => Store.open(dir)).toThrow(/not a SQLite database.*Restore it from a backup/);
    expect(() => Store.open(dir, { readonly: true })).toThrow(expect.objectContaining({ code: "STORE_CORRUPT" }));
  });

  it("gives STORE_CORRUPT for a truncated file", () => {
    const { dir, file } = makeCollection();
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    expect(() => Store.open(dir)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/damaged/) }));
  });

  it("gives STORE_CORRUPT from reads, and verify() reports it, when interior pages are damaged", () => {
    const { dir, file } = makeCollection();
    overwrite(file, 4096 * 5, Buffer.alloc(4096 * 3, 0xab));
    const s = Store.open(dir); // the header and schema are intact: damage shows on use
    try {
      expect(() => s.vectors()).toThrow(expect.objectContaining({ code: "STORE_CORRUPT" }));
      const report = s.verify();
      expect(report.ok).toBe(false);
      expect(report.problems.join(" ")).toMatch(/damaged|integrity/);
    } finally {
      s.close();
    }
  });

  it("gives STORE_CORRUPT for a SQLite database of another application", () => {
    const dir = tmpDir();
    const db = new Database(path.join(dir, DB_FILE));
    db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello')");
    db.close();
    expect(() => Store.open(dir)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/not a clipdb collection/) }));
    // and it was left untouched
    const check = new Database(path.join(dir, DB_FILE), { readonly: true });
    expect(check.prepare("SELECT body FROM notes").pluck().get()).toBe("hello");
    check.close();
  });

  it("gives STORE_CORRUPT for a clipdb file whose tables are missing", () => {
    const { dir, file } = makeCollection(1);
    const db = new Database(file);
    db.exec("DROP TABLE meta");
    db.close();
    expect(() => Store.open(dir)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/schema is broken/) }));
  });

  it("gives STORE_CORRUPT when the directory is a file", () => {
    const dir = tmpDir();
    const f = path.join(dir, "plain-file");
    fs.writeFileSync(f, "x");
    expect(() => Store.open(f)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT" }));
  });

  it("reports missing vectors in verify()", () => {
    const { dir, file } = makeCollection(10);
    const db = new Database(file);
    db.exec("DELETE FROM vblocks");
    db.close();
    const s = Store.open(dir);
    try {
      expect(s.verify()).toEqual({ ok: false, problems: ["10 items have no vector"] });
      expect(() => s.vectors()).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/vector of live offset 0 is missing/) }));
      expect(() => s.vector(3)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT" }));
    } finally {
      s.close();
    }
  });
  it("names the first missing vector when a block is cut short", () => {
    const { dir, file } = makeCollection(10);
    const db = new Database(file);
    db.prepare("UPDATE vblocks SET data = substr(data, 1, ?)").run(5 * 64 * 4); // keep offsets 0..4
    db.close();
    const s = Store.open(dir);
    try {
      expect(s.verify()).toEqual({ ok: false, problems: ["5 items have no vector"] });
      expect(() => s.vectors()).toThrow(/vector of live offset 5 is missing/);
      expect(Array.from(s.vector(4)!.subarray(0, 4))).toEqual(Array.from(vectorsFor(["i4"], 64).subarray(0, 4)));
      expect(() => s.vectorsAt([4, 7])).toThrow(/vector of live offset 7 is missing/);
    } finally {
      s.close();
    }
  });
});

describe("schema versions", () => {
  it("stamps new databases with application_id and the current user_version", () => {
    const { file } = makeCollection(1);
    const db = new Database(file, { readonly: true });
    expect(db.pragma("application_id", { simple: true })).toBe(0x636c6970);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("refuses a database from a newer clipdb with STORE_CORRUPT", () => {
    const { dir, file } = makeCollection(1);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Store.open(dir)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/newer.*Upgrade clipdb/) }));
  });

  it("creates the schema in an empty SQLite file (version 0), but not read-only", () => {
    const dir = tmpDir();
    new Database(path.join(dir, DB_FILE)).close();
    expect(() => Store.open(dir, { readonly: true })).toThrow(expect.objectContaining({ code: "STORE_CORRUPT" }));
    const s = Store.open(dir);
    expect(s.counts()).toEqual({ images: 0, texts: 0, pairs: 0 });
    s.close();
  });

  it("runs an added migration step in order, in one transaction, and rolls back a failing one", () => {
    const { dir, file } = makeCollection(3);
    const db = new Database(file);
    const addColumn = (d: Database.Database): void => {
      d.exec("ALTER TABLE items ADD COLUMN rating INTEGER");
    };
    const failing = (): void => {
      throw new Error("step 3 failed");
    };
    expect(() => migrate(db, { blockSize: 64 }, [...MIGRATIONS, addColumn, failing])).toThrow("step 3 failed");
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(migrate(db, { blockSize: 64 }, [...MIGRATIONS, addColumn])).toBe(SCHEMA_VERSION + 1);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
    expect(migrate(db, { blockSize: 64 }, [...MIGRATIONS, addColumn])).toBe(SCHEMA_VERSION + 1); // already there: no-op
    expect(db.prepare("SELECT count(rating) FROM items").pluck().get()).toBe(0);
    db.close();
    // this build knows only SCHEMA_VERSION, so the migrated file counts as newer
    expect(() => Store.open(dir)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT" }));
  });
});
