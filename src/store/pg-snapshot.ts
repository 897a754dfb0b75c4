/**
 * What a Postgres search reads before its query, in one statement: the model, the generation,
 * the live counts, the collection's small settings and its pgvector indexes. PgCollectionStore
 * reads it once per search (`PgCollectionStore.snapshot`) and answers that search's reads of those
 * from it, so a warm search costs this round trip, the search's own, and the records' read,
 * instead of one per setting, count and index list. Nothing is kept between searches: every
 * search sees every other process's writes, builds and settings as of its start.
 */
import type pg from "pg";
import type { PgNames } from "./pg-schema.js";
import { INDEX_NAME_PATTERN, INDEX_ROWS, type PgIndexInfo, toIndexInfo } from "./pg-search.js";
import { fromDriver } from "./pg-url.js";

/** Settings longer than this (calibrations, adapters) are not carried; their reads go to the server. */
export const SNAPSHOT_SETTING_MAX = 4096;

/** The state a search reads, as of one statement. */
export interface PgSnapshot {
  model: { modelId: string; dim: number } | null;
  generation: number;
  counts: { images: number; texts: number; pairs: number };
  /** Raw setting values by key; null for a setting too long to carry (read it from the server). */
  settings: Map<string, string | null>;
  indexes: PgIndexInfo[];
  /** Set by a write made during the search: its reads go to the server from then on. */
  stale: boolean;
}

/** Reads a snapshot in one statement. */
export async function readSnapshot(client: pg.PoolClient, n: PgNames): Promise<PgSnapshot> {
  let r: pg.QueryResult<{ model_id: string | null; dim: number | null; generation: string; images: string; texts: string; pairs: string; settings: Record<string, string | null> | null; indexes: { name: string; def: string; bytes: string }[] | null }>;
  try {
    r = await client.query(
      `SELECT m.model_id, m.dim, m.generation,
              (SELECT count(*) FROM ${n.items} WHERE modality = 'image') AS images,
              (SELECT count(*) FROM ${n.items} WHERE modality = 'text') AS texts,
              (SELECT count(*) FROM ${n.pairs}) AS pairs,
              (SELECT json_object_agg(key, CASE WHEN length(value) <= ${SNAPSHOT_SETTING_MAX} THEN value END) FROM ${n.settings}) AS settings,
              (SELECT json_agg(x) FROM (${INDEX_ROWS}) x) AS indexes
         FROM ${n.meta} m WHERE m.id = 1`,
      [n.schema, INDEX_NAME_PATTERN],
    );
  } catch (e) {
    throw fromDriver(e);
  }
  const row = r.rows[0];
  return {
    model: row.model_id === null || row.dim === null ? null : { modelId: row.model_id, dim: row.dim },
    generation: Number(row.generation),
    counts: { images: Number(row.images), texts: Number(row.texts), pairs: Number(row.pairs) },
    settings: new Map(Object.entries(row.settings ?? {})),
    indexes: (row.indexes ?? []).map(toIndexInfo).sort((a, b) => a.type.localeCompare(b.type) || a.modality.localeCompare(b.modality)),
    stale: false,
  };
}
