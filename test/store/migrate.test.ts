import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DB_FILE, MIGRATIONS, SCHEMA_VERSION, Store, migrate } from "../../src/store/index.js";

const tmp = mkdtempSync(join(tmpdir(), "clipdb-migrate-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("a collection written by the previous release (schema v1)", () => {
  it("opens, is migrated to v2 (change log, vector checksums, blobs) and keeps every vector", () => {
    const dir = join(tmp, "v1");
    const file = join(dir, DB_FILE);
    mkdirSync(dir);
    const db = new Database(file);
    migrate(db, { blockSize: 64 }, MIGRATIONS.slice(0, 1));
    expect(db.pragma("user_version", { simple: true })).toBe(1);
    const rows = [
      [0.5, 0.5, 0.5, 0.5],
      [1, 0, 0, 0],
    ];
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('model_id', 'm'), ('dim', 4), ('next_offset', 2), ('generation', 1)").run();
    const insert = db.prepare("INSERT INTO items (offset, id, modality, source, text, meta, hash, created_at) VALUES (?, ?, 'image', NULL, NULL, '{}', NULL, '2026-01-01T00:00:00Z')");
    insert.run(0, "a");
    insert.run(1, "b");
    db.prepare("INSERT INTO vblocks (block, data) VALUES (0, ?)").run(Buffer.from(Float32Array.from(rows.flat()).buffer));
    db.close();

    const s = Store.open(dir);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.prepare("SELECT length(crcs) FROM vblocks WHERE block = 0").pluck().get()).toBe(8);
    raw.close();
    expect(Array.from(s.vector(1)!)).toEqual(rows[1]);
    expect(Array.from(s.vectors("image").xs)).toEqual(rows.flat());
    // The log starts at the migration: a reader at an older generation reconciles in full.
    expect(s.changesSince(0)).toBeNull();
    expect(s.changesSince(1)).toMatchObject({ to: 1 });
    s.addItems([{ id: "c", modality: "image", source: null, text: null, meta: {}, hash: null }], Float32Array.from([0, 1, 0, 0]));
    expect(s.changesSince(1)!.added.image).toEqual(Uint32Array.from([2]));
    s.putBlob("k", Buffer.from("x"));
    expect(s.getBlob("k")!.toString()).toBe("x");
    s.close();
  });
});
