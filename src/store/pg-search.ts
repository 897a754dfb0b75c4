/**
 * Search pushdown on Postgres: exact search as `ORDER BY embedding <#> q`, and pgvector's HNSW and
 * IVFFlat indexes as the collection's approximate kinds, one partial index per modality
 * (`... WHERE modality = 'image'`), so each modality's queries use its own graph or lists.
 * Every function runs on a client already inside a transaction (PgCollectionStore opens it), so
 * `SET LOCAL` search parameters apply to that query alone.
 */
import type pg from "pg";
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { PgNames } from "./pg-schema.js";
import { fromDriver } from "./pg-url.js";

/** An approximate pgvector index kind. */
export type PgIndexType = "hnsw" | "ivf";

/** A pgvector index of the collection. */
export interface PgIndexInfo {
  type: PgIndexType;
  modality: Modality;
  /** clipdb's spec string: `HNSW<m>` or `IVF<lists>,Flat`. */
  spec: string;
  /** Bytes on disk (pg_relation_size). */
  bytes: number;
}

/** What a pushed-down search asks for. */
export interface PgSearchOptions {
  modality: Modality;
  /** "exact" scans (never uses an index); "hnsw"/"ivf" use that pgvector index. */
  index: "exact" | PgIndexType;
  /** HNSW candidate list (`hnsw.ef_search`, at least k); default 64. */
  ef?: number;
  /** IVFFlat lists probed (`ivfflat.probes`); default 16. */
  probes?: number;
  /** Only these offsets (a metadata filter); ANN scans then iterate until k pass (pgvector 0.8). */
  candidates?: Uint32Array;
  /** An offset to leave out (the query item itself). */
  exclude?: number;
}

const MODALITIES: Modality[] = ["image", "text"];
const quoteId = (id: string): string => `"${id.replace(/"/g, '""')}"`;
const indexName = (type: PgIndexType, modality: Modality): string => `items_${type}_${modality}`;

/**
 * The condition that ties a query to one kind of index. Both kinds are partial indexes on the same
 * column; with both built, Postgres would pick either by cost (an HNSW query at ef_search 160 was
 * planned on the IVFFlat index), so each index carries a predicate that only its own queries
 * imply: offsets are never negative, so the condition is always true and filters nothing.
 */
const KIND_TAG: Record<PgIndexType, string> = { hnsw: `"offset" <> -1`, ivf: `"offset" <> -2` };

async function q<R extends pg.QueryResultRow>(client: pg.PoolClient, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await client.query<R>(text, values);
  } catch (e) {
    throw fromDriver(e);
  }
}

/** A query vector as pgvector text (float32 values print and parse back exactly). */
const vectorText = (v: Float32Array): string => `[${Array.from(v).join(",")}]`;

/** Top-k by inner product, best first, ties by offset; scores are the inner products. */
export async function searchVectors(client: pg.PoolClient, n: PgNames, query: Float32Array, k: number, o: PgSearchOptions): Promise<{ offsets: Uint32Array; scores: Float32Array }> {
  if (!MODALITIES.includes(o.modality)) throw new ClipdbError("INVALID_ARGUMENT", { name: "modality", reason: `'${o.modality}' is not image or text` });
  const values: unknown[] = [vectorText(query), k];
  const conds = [`modality = '${o.modality}'`];
  if (o.candidates) {
    values.push(Array.from(o.candidates, String));
    conds.push(`"offset" = ANY($${values.length}::bigint[])`);
  }
  if (o.exclude !== undefined) {
    values.push(o.exclude);
    conds.push(`"offset" <> $${values.length}`);
  }
  // Exact: a second sort key keeps the planner off the (single-key) ANN indexes.
  let order = `embedding <#> $1::${n.vector}, "offset"`;
  if (o.index !== "exact") conds.push(KIND_TAG[o.index]);
  if (o.index === "hnsw") {
    await q(client, `SET LOCAL hnsw.ef_search = ${Math.max(k, Math.floor(o.ef ?? 64))}`);
    if (o.candidates || o.exclude !== undefined) await q(client, "SET LOCAL hnsw.iterative_scan = relaxed_order");
    order = `embedding <#> $1::${n.vector}`;
  } else if (o.index === "ivf") {
    await q(client, `SET LOCAL ivfflat.probes = ${Math.max(1, Math.floor(o.probes ?? 16))}`);
    if (o.candidates || o.exclude !== undefined) await q(client, "SET LOCAL ivfflat.iterative_scan = relaxed_order");
    order = `embedding <#> $1::${n.vector}`;
  }
  const r = await q<{ offset: string; score: number }>(
    client,
    `SELECT "offset", -(embedding <#> $1::${n.vector}) AS score FROM ${n.items} WHERE ${conds.join(" AND ")} ORDER BY ${order} LIMIT $2`,
    values,
  );
  // relaxed_order may return near-sorted rows; the contract is best first, ties by offset.
  const rows = r.rows.map((x) => ({ offset: Number(x.offset), score: Math.fround(x.score) })).sort((a, b) => b.score - a.score || a.offset - b.offset);
  return { offsets: Uint32Array.from(rows, (x) => x.offset), scores: Float32Array.from(rows, (x) => x.score) };
}

/**
 * Builds (or rebuilds) the pgvector index of `type` over one modality: HNSW with `m` (default 16)
 * and ef_construction (default 64), or IVFFlat with `lists` (trained on the rows present now, as
 * pgvector does). Returns its spec.
 */
export async function buildVectorIndex(client: pg.PoolClient, n: PgNames, type: PgIndexType, modality: Modality, p: { m?: number; efConstruction?: number; lists?: number }): Promise<string> {
  const name = indexName(type, modality);
  const ops = n.vector.replace(/vector$/, "vector_ip_ops");
  await q(client, `DROP INDEX IF EXISTS ${quoteId(n.schema)}.${name}`);
  let spec: string;
  let using: string;
  if (type === "hnsw") {
    const m = Math.floor(p.m ?? 16);
    const efc = Math.floor(p.efConstruction ?? 64);
    spec = `HNSW${m}`;
    using = `hnsw (embedding ${ops}) WITH (m = ${m}, ef_construction = ${efc})`;
  } else {
    const lists = Math.max(1, Math.floor(p.lists ?? 1));
    spec = `IVF${lists},Flat`;
    using = `ivfflat (embedding ${ops}) WITH (lists = ${lists})`;
  }
  try {
    await q(client, `CREATE INDEX ${name} ON ${n.items} USING ${using} WHERE modality = '${modality}' AND ${KIND_TAG[type]}`);
  } catch (e) {
    const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
    if (code === "54000" || /maintenance_work_mem|memory required/i.test(String((e as Error).message))) {
      throw new ClipdbError("INVALID_ARGUMENT", {
        name: "nlist",
        reason: `Postgres has too little maintenance_work_mem to build ${spec} (${(e as Error).message})`,
        hint: "Raise maintenance_work_mem on the server (for example SET maintenance_work_mem = '1GB' for the role), or build with fewer lists (--nlist).",
      }, { cause: e });
    }
    throw e;
  }
  return spec;
}

/** Drops the pgvector indexes of `type` (both modalities). */
export async function dropVectorIndex(client: pg.PoolClient, n: PgNames, type: PgIndexType): Promise<void> {
  for (const m of MODALITIES) await q(client, `DROP INDEX IF EXISTS ${quoteId(n.schema)}.${indexName(type, m)}`);
}

/** The collection's pgvector indexes, with their specs and sizes. */
export async function vectorIndexes(client: pg.PoolClient, n: PgNames): Promise<PgIndexInfo[]> {
  const r = await q<{ name: string; def: string; bytes: string }>(
    client,
    `SELECT c.relname AS name, pg_get_indexdef(c.oid) AS def, pg_relation_size(c.oid) AS bytes
       FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = $1 AND c.relkind = 'i' AND c.relname ~ '^items_(hnsw|ivf)_(image|text)$'
      ORDER BY c.relname`,
    [n.schema],
  );
  return r.rows.map((row) => {
    const [, type, modality] = /^items_(hnsw|ivf)_(image|text)$/.exec(row.name)!;
    const m = /\bm\s*=\s*'?(\d+)/.exec(row.def)?.[1];
    const lists = /\blists\s*=\s*'?(\d+)/.exec(row.def)?.[1];
    const spec = type === "hnsw" ? `HNSW${m ?? 16}` : `IVF${lists ?? 100},Flat`;
    return { type: type as PgIndexType, modality: modality as Modality, spec, bytes: Number(row.bytes) };
  });
}

/** Bytes the collection's tables and indexes take on the server. */
export async function relationBytes(client: pg.PoolClient, n: PgNames): Promise<number> {
  const r = await q<{ bytes: string | null }>(
    client,
    `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind = 'r'`,
    [n.schema],
  );
  return Number(r.rows[0]?.bytes ?? 0);
}
