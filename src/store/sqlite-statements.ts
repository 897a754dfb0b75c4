/**
 * The SQLite store's prepared statements, made once per connection. Plain SQL with bound
 * parameters only; the Store (store.ts) decides when each runs and in which transaction.
 */
import type Database from "better-sqlite3";
import type { Modality } from "../core/types.js";
import { SQLITE_KEYWORD_SQL } from "./fts.js";
import { COLS, type Row } from "./records.js";
import type { Db } from "./sqlite.js";

/** A row of `pairsOfMany`: the asked-for item, one paired id (by offset), the pair's text when the item is an image. */
export interface PairRow {
  id: string;
  other: string;
  text: string | null;
  image: number;
}

/** Prepares every statement of the store on `db`; `metaGet` is the one the constructor already made. */
export function prepareStatements(db: Db, metaGet: Database.Statement<[string], unknown>): Statements {
  return {
    metaGet,
    metaPut: db.prepare<[string, string]>("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"),
    metaPutInt: db.prepare<[string, number]>("INSERT OR REPLACE INTO meta (key, value) VALUES (?, CAST(? AS INTEGER))"),
    bump: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'generation'"),
    keyword: db.prepare<[string, number], [number, number]>(SQLITE_KEYWORD_SQL).raw(),
    insertItem: db.prepare<[number, string, string, string | null, string | null, string, string | null, string]>(
      `INSERT INTO items (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byId: db.prepare<[string], Row>(`SELECT ${COLS} FROM items WHERE id = ?`).raw(),
    byOffset: db.prepare<[number], Row>(`SELECT ${COLS} FROM items WHERE offset = ?`).raw(),
    byOffsets: db.prepare<[string], Row>(`SELECT ${COLS} FROM items WHERE offset IN (SELECT value FROM json_each(?))`).raw(),
    byHash: db.prepare<[string], Row>(`SELECT ${COLS} FROM items WHERE hash = ? ORDER BY offset`).raw(),
    bySource: db.prepare<[string], Row>(`SELECT ${COLS} FROM items WHERE source = ? ORDER BY offset`).raw(),
    modalityOf: db.prepare<[string], Modality>("SELECT modality FROM items WHERE id = ?").pluck(),
    deleteItem: db.prepare<[number]>("DELETE FROM items WHERE offset = ?"),
    anyLive: db.prepare<[number, number], number>("SELECT EXISTS (SELECT 1 FROM items WHERE offset BETWEEN ? AND ?)").pluck(),
    liveAll: db.prepare<[number], number>("SELECT offset FROM items WHERE offset >= ? ORDER BY offset").pluck(),
    liveOf: db.prepare<[string, number], number>("SELECT offset FROM items WHERE modality = ? AND offset >= ? ORDER BY offset").pluck(),
    insertPair: db.prepare<[string, string]>("INSERT OR IGNORE INTO pairs (image_id, text_id) VALUES (?, ?)"),
    paired: db
      .prepare<[string, string], string>(
        `SELECT other FROM (
           SELECT p.text_id AS other, i.offset AS o FROM pairs p JOIN items i ON i.id = p.text_id WHERE p.image_id = ?
           UNION ALL
           SELECT p.image_id, i.offset FROM pairs p JOIN items i ON i.id = p.image_id WHERE p.text_id = ?
         ) ORDER BY o`,
      )
      .pluck(),
    pairsOfMany: db.prepare<[string, string], PairRow>(
      `SELECT id, other, text, image FROM (
         SELECT p.image_id AS id, p.text_id AS other, i.text AS text, 1 AS image, i.offset AS o
           FROM json_each(?) q JOIN pairs p ON p.image_id = q.value JOIN items i ON i.id = p.text_id
         UNION ALL
         SELECT p.text_id, p.image_id, NULL, 0, i.offset
           FROM json_each(?) q JOIN pairs p ON p.text_id = q.value JOIN items i ON i.id = p.image_id
       ) ORDER BY id, o`,
    ),
    allPairs: db
      .prepare<[], [number, number]>(
        "SELECT a.offset, b.offset FROM pairs p JOIN items a ON a.id = p.image_id JOIN items b ON b.id = p.text_id ORDER BY a.offset, b.offset",
      )
      .raw(),
    countByModality: db.prepare<[], [Modality, number]>("SELECT modality, count(*) FROM items GROUP BY modality").raw(),
    countPairs: db.prepare<[], number>("SELECT count(*) FROM pairs").pluck(),
    sources: db
      .prepare<[{ prefix: string | null }], { id: string; source: string; hash: string | null }>(
        "SELECT id, source, hash FROM items WHERE source IS NOT NULL AND (@prefix IS NULL OR substr(source, 1, length(@prefix)) = @prefix) ORDER BY source, offset",
      ),
    settingGet: db.prepare<[string], string>("SELECT value FROM settings WHERE key = ?").pluck(),
    settingPut: db.prepare<[string, string]>("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)"),
    settingDel: db.prepare<[string]>("DELETE FROM settings WHERE key = ?"),
    blobGet: db.prepare<[string], Buffer>("SELECT data FROM blobs WHERE key = ?").pluck(),
    blobPut: db.prepare<[string, Buffer]>("INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)"),
    insertChange: db.prepare<[number, number, number, number, number, Buffer | null, Buffer | null]>(
      "INSERT OR REPLACE INTO changes (generation, added_lo, added_hi, added_image, added_text, removed_image, removed_text) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    pruneChanges: db.prepare<[number]>("DELETE FROM changes WHERE generation <= ?"),
    changesFrom: db
      .prepare<[number], [number, number, number, Buffer | null, Buffer | null]>("SELECT generation, added_lo, added_hi, removed_image, removed_text FROM changes WHERE generation > ? ORDER BY generation")
      .raw(),
    changeCount: db
      .prepare<[number], [number, number | null, number | null, number | null]>(
        `SELECT count(*), min(generation), sum(added_image + coalesce(length(removed_image), 0) / 4), sum(added_text + coalesce(length(removed_text), 0) / 4)
         FROM changes WHERE generation > ?`,
      )
      .raw(),
    idOffsetModality: db.prepare<[string], [number, Modality]>("SELECT offset, modality FROM items WHERE id = ?").raw(),
    liveIn: db.prepare<[number, number], [number, Modality]>("SELECT offset, modality FROM items WHERE offset >= ? AND offset < ? ORDER BY offset").raw(),
  };
}

/** The statements of one connection (see prepareStatements for their SQL). */
export interface Statements {
  metaGet: Database.Statement<[string], unknown>;
  metaPut: Database.Statement<[string, string], unknown>;
  metaPutInt: Database.Statement<[string, number], unknown>;
  bump: Database.Statement<unknown[], unknown>;
  keyword: Database.Statement<[string, number], [number, number]>;
  insertItem: Database.Statement<[number, string, string, string | null, string | null, string, string | null, string], unknown>;
  byId: Database.Statement<[string], Row>;
  byOffset: Database.Statement<[number], Row>;
  byOffsets: Database.Statement<[string], Row>;
  byHash: Database.Statement<[string], Row>;
  bySource: Database.Statement<[string], Row>;
  modalityOf: Database.Statement<[string], Modality>;
  deleteItem: Database.Statement<[number], unknown>;
  anyLive: Database.Statement<[number, number], number>;
  liveAll: Database.Statement<[number], number>;
  liveOf: Database.Statement<[string, number], number>;
  insertPair: Database.Statement<[string, string], unknown>;
  paired: Database.Statement<[string, string], string>;
  pairsOfMany: Database.Statement<[string, string], PairRow>;
  allPairs: Database.Statement<[], [number, number]>;
  countByModality: Database.Statement<[], [Modality, number]>;
  countPairs: Database.Statement<[], number>;
  sources: Database.Statement<[{ prefix: string | null }], { id: string; source: string; hash: string | null }>;
  settingGet: Database.Statement<[string], string>;
  settingPut: Database.Statement<[string, string], unknown>;
  settingDel: Database.Statement<[string], unknown>;
  blobGet: Database.Statement<[string], Buffer>;
  blobPut: Database.Statement<[string, Buffer], unknown>;
  insertChange: Database.Statement<[number, number, number, number, number, Buffer | null, Buffer | null], unknown>;
  pruneChanges: Database.Statement<[number], unknown>;
  changesFrom: Database.Statement<[number], [number, number, number, Buffer | null, Buffer | null]>;
  changeCount: Database.Statement<[number], [number, number | null, number | null, number | null]>;
  idOffsetModality: Database.Statement<[string], [number, Modality]>;
  liveIn: Database.Statement<[number, number], [number, Modality]>;
}
