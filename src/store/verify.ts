import type { Db } from "./sqlite.js";
import type { VerifyReport } from "./types.js";

/**
 * Checks a store's database (run it inside a read transaction): SQLite integrity_check and
 * foreign_key_check, every live item has a vector slot, no vector block is orphaned, every
 * offset is below next_offset, and the keyword index (FTS5) agrees with the text items. Reads the
 * whole file.
 */
export function verifyStore(db: Db, ctx: { dim: number | undefined; blockSize: number; nextOffset: number }): VerifyReport {
  const problems: string[] = [];
  const integrity = db.pragma("integrity_check") as { integrity_check: string }[];
  if (!(integrity.length === 1 && integrity[0].integrity_check === "ok")) problems.push(...integrity.map((r) => `integrity: ${r.integrity_check}`));
  const fk = db.pragma("foreign_key_check") as unknown[];
  if (fk.length > 0) problems.push(`foreign keys: ${fk.length} broken references`);
  const b = ctx.blockSize;
  const items = db.prepare<[], number>("SELECT count(*) FROM items").pluck().get() ?? 0;
  if (items > 0 && ctx.dim === undefined) problems.push("items exist but no model is recorded");
  if (ctx.dim !== undefined) {
    const rowBytes = ctx.dim * 4;
    // Integers are inlined: better-sqlite3 binds JS numbers as REAL, which would turn "/" into float division.
    const noVector = db
      .prepare<[], number>(
        `SELECT count(*) FROM items i LEFT JOIN vblocks v ON v.block = i.offset / ${b} WHERE v.block IS NULL OR length(v.data) < ((i.offset % ${b}) + 1) * ${rowBytes}`,
      )
      .pluck()
      .get();
    if (noVector) problems.push(`${noVector} items have no vector`);
    const badLen = db.prepare<[], number>(`SELECT count(*) FROM vblocks WHERE length(data) % ${rowBytes} != 0`).pluck().get();
    if (badLen) problems.push(`${badLen} vector blocks have a length that is not a multiple of dim`);
  }
  const orphans = db
    .prepare<[], number>(`SELECT count(*) FROM vblocks v WHERE NOT EXISTS (SELECT 1 FROM items WHERE offset BETWEEN v.block * ${b} AND v.block * ${b} + ${b - 1})`)
    .pluck()
    .get();
  if (orphans) problems.push(`${orphans} vector blocks hold no live item`);
  const maxOff = db.prepare<[], number | null>("SELECT max(offset) FROM items").pluck().get();
  if (maxOff != null && maxOff >= ctx.nextOffset) problems.push(`offset ${maxOff} is not below next_offset ${ctx.nextOffset}`);
  // FTS5 keeps one docsize row per indexed row: compare them with the text items (read-only).
  const unindexed = db
    .prepare<[], number>("SELECT count(*) FROM items i WHERE modality = 'text' AND text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM items_fts_docsize d WHERE d.id = i.offset)")
    .pluck()
    .get();
  const stale = db
    .prepare<[], number>("SELECT count(*) FROM items_fts_docsize d WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.offset = d.id AND modality = 'text' AND text IS NOT NULL)")
    .pluck()
    .get();
  if (unindexed || stale) problems.push(`keyword index: ${unindexed} text items not indexed, ${stale} entries of removed items`);
  return { ok: problems.length === 0, problems };
}
