/**
 * Keyword search over text items (src/store/fts.ts) on both stores: words and phrases, stemming,
 * query text that looks like syntax, and the index kept in step with adds, removes and failed
 * writes; plus the SQLite migration that indexes the texts of an existing (v2) collection.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { CollectionStore } from "../../src/store/api.js";
import { PgCollectionStore } from "../../src/store/pg.js";
import { DB_FILE, Store } from "../../src/store/index.js";
import pg from "pg";
import { vectorsFor } from "./fixtures/gen.js";
import { storeBackends } from "./backends.js";
import { item, tmpDir } from "./helpers.js";

const DIM = 8;
const TEXTS: Record<string, string> = {
  t1: "A black dog runs on the beach",
  t2: "Two dogs play with a red ball",
  t3: "A man rides a bicycle past the Guggenheim",
  t4: "The beach is empty at dawn",
  t5: 'A sign reads "NEAR(x) AND OR"',
};

const { backends, pgUrl, track } = storeBackends("fts");

describe.each(backends)("$name keyword search", (b) => {
  async function seeded(): Promise<{ s: CollectionStore; again: () => Promise<CollectionStore> }> {
    const { s, again } = await b.fresh();
    await s.setModel("m", DIM);
    const ids = ["img", ...Object.keys(TEXTS)];
    await s.addItems(ids.map((id) => (id === "img" ? item(id, "image", { text: "beach dog caption-less image" }) : item(id, "text", { text: TEXTS[id] }))), vectorsFor(ids, DIM));
    return { s, again };
  }
  const ids = async (s: CollectionStore, q: string, limit = 10): Promise<string[]> => {
    const r = await s.keywordSearch(q, limit);
    expect(r.scores.length).toBe(r.offsets.length);
    for (let i = 1; i < r.scores.length; i++) expect(r.scores[i]).toBeLessThanOrEqual(r.scores[i - 1]);
    return (await s.getManyByOffsets(r.offsets)).map((x) => x.id);
  };

  it("finds text items by a rare word, stems, ORs words and ranks the item matching more first", async () => {
    const { s } = await seeded();
    expect(await ids(s, "guggenheim")).toEqual(["t3"]);
    expect((await ids(s, "dog")).sort()).toEqual(["t1", "t2"]); // "dogs" stems to "dog"; the image is not indexed
    expect((await ids(s, "beach dog"))[0]).toBe("t1"); // matches both words
    expect((await ids(s, "beach dog")).sort()).toEqual(["t1", "t2", "t4"]);
    expect(await ids(s, "beach dog", 1)).toEqual(["t1"]);
    expect(await ids(s, "zebra")).toEqual([]);
  });

  it("keeps a quoted phrase whole, and treats query syntax as plain words", async () => {
    const { s } = await seeded();
    expect(await ids(s, '"red ball"')).toEqual(["t2"]);
    expect(await ids(s, '"ball red"')).toEqual([]);
    expect(await ids(s, "NEAR(x) AND OR")).toContain("t5");
    expect(await ids(s, '"" -- ** ()')).toEqual([]);
    expect(await ids(s, "")).toEqual([]);
  });

  it("follows adds and removes, rolls back with a failed write, and is seen by another handle", async () => {
    const { s, again } = await seeded();
    await s.remove(["t3"]);
    expect(await ids(s, "guggenheim")).toEqual([]);
    await expect(s.addItems([item("t9", "text", { text: "zebra crossing" }), item("t1", "text")], vectorsFor(["t9", "t1"], DIM))).rejects.toMatchObject({ code: "DUPLICATE_ID" });
    expect(await ids(s, "zebra")).toEqual([]);
    await s.transaction(async (tx) => {
      await tx.addItems([item("t9", "text", { text: "zebra crossing" })], vectorsFor(["t9"], DIM));
    });
    const other = await again();
    expect(await ids(other, "zebras")).toEqual(["t9"]);
  });
});

describe("a SQLite collection of schema v2 (before keyword search)", () => {
  it("indexes its stored texts when it is opened, and verify checks the index", () => {
    const dir = tmpDir();
    const s = Store.open(dir);
    s.setModel("m", DIM);
    s.addItems([item("t1", "text", { text: "an old caption about zebras" }), item("i1", "image")], vectorsFor(["t1", "i1"], DIM));
    s.close();
    const db = new Database(join(dir, DB_FILE));
    db.exec("DROP TRIGGER items_fts_insert; DROP TRIGGER items_fts_delete; DROP TRIGGER items_fts_update; DROP TABLE items_fts; PRAGMA user_version = 2;");
    db.close();
    const s2 = Store.open(dir);
    expect(Array.from(s2.keywordSearch("zebra", 5).offsets)).toEqual([0]);
    expect(s2.verify()).toEqual({ ok: true, problems: [] });
    s2.close();
    const raw = new Database(join(dir, DB_FILE));
    raw.exec("DROP TRIGGER items_fts_delete; DELETE FROM items WHERE id = 't1';"); // damage: a remove the index missed
    raw.close();
    const s3 = Store.open(dir);
    expect(s3.verify().problems.join()).toMatch(/keyword index: 0 text items not indexed, 1 entries of removed items/);
    s3.close();
  });
});

describe("a Postgres collection of schema v1 (before keyword search)", () => {
  it("gains the tsvector column for its stored texts when it is opened", async () => {
    const schema = `fts_old_${process.pid}`;
    const s = await PgCollectionStore.open(pgUrl(), { schema, poolSize: 1 });
    await s.setModel("m", DIM);
    await s.addItems([item("t1", "text", { text: "an old caption about zebras" }), item("i1", "image")], vectorsFor(["t1", "i1"], DIM));
    await s.close();
    const c = new pg.Client({ connectionString: pgUrl() });
    await c.connect();
    await c.query(`DROP INDEX "${schema}".items_tsv; ALTER TABLE "${schema}".items DROP COLUMN tsv; UPDATE "${schema}".meta SET schema_version = 1`);
    await c.end();
    const s2 = await track(PgCollectionStore.open(pgUrl(), { schema, poolSize: 1 }));
    const r = await s2.keywordSearch("zebra", 5);
    expect((await s2.getManyByOffsets(r.offsets)).map((x) => x.id)).toEqual(["t1"]);
  });
});
