/**
 * Search pushdown on Postgres: exact search as `ORDER BY embedding <#> q`, and pgvector's HNSW and
 * IVFFlat indexes as the collection's approximate kinds, one partial index per modality
 * (`... WHERE modality = 'image'`), so each modality's queries use its own graph or lists.
 * `searchVectors` runs on a client outside a transaction: exact search is one statement (one
 * round trip); an ANN search sends BEGIN and its `SET LOCAL` parameters in one round trip, its
 * SELECT, then COMMIT, so the parameters apply to that query alone. The others run inside the
 * transaction PgCollectionStore opens.
 */
import type pg from "pg";
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { PgNames } from "./pg-schema.js";
import { fromDriver } from "./pg-url.js";

/**
 * One pgvector access method as the store builds and queries it: the SQL of its index, the
 * settings a query sets first (`SET LOCAL`, so they apply to that query alone), and its spec
 * string read back from the index definition. The collection layer's pgvector kinds
 * (src/collection/pg-kinds.ts) name these by their key.
 */
interface PgMethod {
  /** `USING ...` of CREATE INDEX, and the spec it makes, from the build parameters. */
  using(ops: string, p: { m?: number; efConstruction?: number; lists?: number }): { using: string; spec: string };
  /** The spec string of a built index, from pg_get_indexdef. */
  specOf(def: string): string;
  /** SET LOCAL statements before a query (`filtered`: candidates or an exclusion). */
  settings(o: PgSearchOptions, k: number, filtered: boolean): string[];
  /**
   * The condition that ties a query to this kind's index. Every kind is a partial index on the same
   * column; with two built, Postgres would pick either by cost (an HNSW query at ef_search 160 was
   * planned on the IVFFlat index), so each index carries a predicate only its own queries imply:
   * offsets are never negative, so the condition is always true and filters nothing.
   */
  tag: string;
}

const METHODS = {
  hnsw: {
    using(ops, p) {
      const m = Math.floor(p.m ?? 16);
      const efc = Math.floor(p.efConstruction ?? 64);
      return { spec: `HNSW${m}`, using: `hnsw (embedding ${ops}) WITH (m = ${m}, ef_construction = ${efc})` };
    },
    specOf: (def) => `HNSW${/\bm\s*=\s*'?(\d+)/.exec(def)?.[1] ?? 16}`,
    settings: (o, k, filtered) => [`SET LOCAL hnsw.ef_search = ${Math.max(k, Math.floor(o.ef ?? 64))}`, ...(filtered ? ["SET LOCAL hnsw.iterative_scan = relaxed_order"] : [])],
    tag: `"offset" <> -1`,
  },
  ivf: {
    using(ops, p) {
      const lists = Math.max(1, Math.floor(p.lists ?? 1));
      return { spec: `IVF${lists},Flat`, using: `ivfflat (embedding ${ops}) WITH (lists = ${lists})` };
    },
    specOf: (def) => `IVF${/\blists\s*=\s*'?(\d+)/.exec(def)?.[1] ?? 100},Flat`,
    settings: (o, _k, filtered) => [`SET LOCAL ivfflat.probes = ${Math.max(1, Math.floor(o.probes ?? 16))}`, ...(filtered ? ["SET LOCAL ivfflat.iterative_scan = relaxed_order"] : [])],
    tag: `"offset" <> -2`,
  },
} satisfies Record<string, PgMethod>;

/** A pgvector index kind as the store names it (`items_<type>_<modality>`): "hnsw" (HNSW) or "ivf" (IVFFlat). */
export type PgIndexType = keyof typeof METHODS;

/** Whether `type` names a pgvector index kind of the store. */
export const isPgIndexType = (type: string): type is PgIndexType => Object.hasOwn(METHODS, type);

const NAME_RE = new RegExp(`^items_(${Object.keys(METHODS).join("|")})_(image|text)$`);

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
  /** "exact" scans (never uses an index); a PgIndexType ("hnsw", "ivf") uses that pgvector index. */
  index: string;
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
  if (o.index !== "exact") {
    if (!isPgIndexType(o.index)) throw new ClipdbError("INVALID_ARGUMENT", { name: "index", reason: `'${o.index}' is not exact or ${Object.keys(METHODS).join(" or ")}` });
    const method: PgMethod = METHODS[o.index];
    conds.push(method.tag);
    // One round trip: the settings are numbers formatted here, so they travel as a simple query.
    await q(client, ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", ...method.settings(o, k, o.candidates !== undefined || o.exclude !== undefined)].join("; "));
    order = `embedding <#> $1::${n.vector}`;
  }
  const select = `SELECT "offset", -(embedding <#> $1::${n.vector}) AS score FROM ${n.items} WHERE ${conds.join(" AND ")} ORDER BY ${order} LIMIT $2`;
  let r: pg.QueryResult<{ offset: string; score: number }>;
  if (o.index === "exact") r = await q(client, select, values);
  else {
    try {
      r = await q(client, select, values);
      await q(client, "COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }
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
  const method: PgMethod = METHODS[type];
  const { using, spec } = method.using(ops, p);
  await q(client, `DROP INDEX IF EXISTS ${quoteId(n.schema)}.${name}`);
  try {
    await q(client, `CREATE INDEX ${name} ON ${n.items} USING ${using} WHERE modality = '${modality}' AND ${method.tag}`);
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
  if (!isPgIndexType(type)) return;
  for (const m of MODALITIES) await q(client, `DROP INDEX IF EXISTS ${quoteId(n.schema)}.${indexName(type, m)}`);
}

/** The collection's pgvector indexes, with their specs and sizes. */
export async function vectorIndexes(client: pg.PoolClient, n: PgNames): Promise<PgIndexInfo[]> {
  const r = await q<{ name: string; def: string; bytes: string }>(client, `SELECT * FROM (${INDEX_ROWS}) x ORDER BY name`, [n.schema, NAME_RE.source]);
  return r.rows.map(toIndexInfo);
}

/**
 * The SQL of the collection's pgvector index rows (name, def, bytes), with the schema as $1 and
 * the name pattern as $2 (`INDEX_NAME_PATTERN`), for queries that read them with other state.
 */
export const INDEX_ROWS = `SELECT c.relname AS name, pg_get_indexdef(c.oid) AS def, pg_relation_size(c.oid) AS bytes
       FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = $1 AND c.relkind = 'i' AND c.relname ~ $2`;

/** The name pattern of the collection's pgvector indexes (`items_<type>_<modality>`). */
export const INDEX_NAME_PATTERN = NAME_RE.source;

/** One index row of INDEX_ROWS as a PgIndexInfo. */
export function toIndexInfo(row: { name: string; def: string; bytes: string | number }): PgIndexInfo {
  const [, type, modality] = NAME_RE.exec(row.name)!;
  const method: PgMethod = METHODS[type as PgIndexType];
  return { type: type as PgIndexType, modality: modality as Modality, spec: method.specOf(row.def), bytes: Number(row.bytes) };
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
