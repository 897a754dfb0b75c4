/**
 * The Postgres schema of a collection (one SQL schema per collection, default "clipdb"), created
 * on first open and versioned in its meta row, and the pgvector extension it needs.
 */
import type pg from "pg";
import { ClipdbError } from "../core/errors.js";
import { pgFtsSql } from "./fts.js";
import type { PgTarget } from "./pg-url.js";

/** The version of the tables below (meta.schema_version); a newer one is refused, an older one migrated. */
export const PG_SCHEMA_VERSION = 2;

/**
 * The oldest pgvector accepted. The store itself needs only the `vector` type and its binary
 * I/O; 0.5.0 brings HNSW, which search pushdown builds on (filtered ANN wants 0.8's iterative
 * scans). Tested with 0.8.7 (PGlite's extension).
 */
export const MIN_PGVECTOR = "0.5.0";

/** pgvector's limit on the dimension of a `vector` column. */
export const PG_MAX_DIM = 16000;

/** Quoted, schema-qualified names of a collection's tables and of the vector type. */
export interface PgNames {
  schema: string;
  meta: string;
  items: string;
  pairs: string;
  settings: string;
  changes: string;
  blobs: string;
  /** The vector type, qualified by the extension's schema, e.g. "public".vector. */
  vector: string;
  /** Its binary send function, for reading vectors as bytes. */
  vectorSend: string;
  /** The vector type's oid (the element type of binary vector[] parameters). */
  vectorOid: number;
}

const quote = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** The names of the tables of `schema`, with the vector type found in `vectorSchema`. */
export function pgNames(schema: string, vectorSchema: string, vectorOid: number): PgNames {
  const t = (name: string): string => `${quote(schema)}.${name}`;
  return {
    schema,
    meta: t("meta"),
    items: t("items"),
    pairs: t("pairs"),
    settings: t("settings"),
    changes: t("changes"),
    blobs: t("blobs"),
    vector: `${quote(vectorSchema)}.vector`,
    vectorSend: `${quote(vectorSchema)}.vector_send`,
    vectorOid,
  };
}

/**
 * Version 1. The embedding column is added by setModel (`vector(dim)`, NOT NULL), since the
 * dimension is only known then. Offsets are bigint (they stay below 2^32, as in SQLite); meta is
 * jsonb (so its key order is Postgres's: shorter keys first); settings keep their JSON text as
 * written; removed offsets of a change are bigint[] in removal order.
 */
function createV1(n: PgNames): string {
  return `
    CREATE TABLE ${n.meta} (
      id             smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      schema_version integer NOT NULL,
      generation     bigint NOT NULL DEFAULT 0,
      next_offset    bigint NOT NULL DEFAULT 0,
      model_id       text,
      dim            integer,
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE ${n.items} (
      "offset"   bigint PRIMARY KEY,
      id         text NOT NULL UNIQUE,
      modality   text NOT NULL CHECK (modality IN ('image', 'text')),
      source     text,
      text       text,
      meta       jsonb NOT NULL DEFAULT '{}',
      hash       text,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX items_modality ON ${n.items} (modality, "offset");
    CREATE INDEX items_hash ON ${n.items} (hash) WHERE hash IS NOT NULL;
    CREATE INDEX items_source ON ${n.items} (source COLLATE "C") WHERE source IS NOT NULL;
    CREATE TABLE ${n.pairs} (
      image_id text NOT NULL REFERENCES ${n.items} (id) ON DELETE CASCADE,
      text_id  text NOT NULL REFERENCES ${n.items} (id) ON DELETE CASCADE,
      PRIMARY KEY (image_id, text_id)
    );
    CREATE INDEX pairs_text ON ${n.pairs} (text_id);
    CREATE TABLE ${n.settings} (
      key   text PRIMARY KEY,
      value text NOT NULL
    );
    CREATE TABLE ${n.changes} (
      generation    bigint PRIMARY KEY,
      added_lo      bigint NOT NULL,
      added_hi      bigint NOT NULL,
      added_image   integer NOT NULL DEFAULT 0,
      added_text    integer NOT NULL DEFAULT 0,
      removed_image bigint[],
      removed_text  bigint[]
    );
    CREATE TABLE ${n.blobs} (
      key  text PRIMARY KEY,
      data bytea NOT NULL
    );
    INSERT INTO ${n.meta} (id, schema_version) VALUES (1, 1);
  `;
}

/** Version 2: the `tsv` keyword column of text items and its GIN index (see fts.ts). */
function createV2(n: PgNames): string {
  return pgFtsSql(n.items);
}

/** Schema steps: MIGRATIONS[v] brings version v to v + 1 (MIGRATIONS[0] creates the tables). */
const MIGRATIONS: readonly ((n: PgNames) => string)[] = [createV1, createV2];

const versionParts = (v: string): number[] => v.split(/[^0-9]+/).filter(Boolean).map(Number);

/** True when version a >= b (dotted numbers). */
export function versionAtLeast(a: string, b: string): boolean {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return true;
}

/**
 * Finds the pgvector extension, creating it when it is available but not created and `create`
 * is true (needs the CREATE privilege on the database). Gives STORE_UNAVAILABLE saying
 * `CREATE EXTENSION vector` when it is missing, and `ALTER EXTENSION vector UPDATE` when it is
 * older than MIN_PGVECTOR. Returns its version, the schema of its type and the type's oid.
 */
export async function ensureVectorExtension(c: pg.PoolClient, t: PgTarget, create: boolean): Promise<{ version: string; schema: string; oid: number }> {
  const find = async (): Promise<{ version: string; schema: string; oid: number } | undefined> => {
    const r = await c.query<{ version: string; schema: string; oid: number }>(
      `SELECT e.extversion AS version, n.nspname AS schema, ty.oid::int AS oid
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         JOIN pg_type ty ON ty.typname = 'vector' AND ty.typnamespace = e.extnamespace
        WHERE e.extname = 'vector'`,
    );
    return r.rows[0];
  };
  let found = await find();
  let refused = "";
  if (found === undefined) {
    const avail = await c.query<{ v: string }>("SELECT default_version AS v FROM pg_available_extensions WHERE name = 'vector'");
    if (avail.rows.length > 0 && create) {
      try {
        await c.query("CREATE EXTENSION IF NOT EXISTS vector");
      } catch (e) {
        refused = ` (clipdb tried and was refused: ${(e as Error).message})`;
      }
      found = await find();
    }
    if (found === undefined) {
      const installed = avail.rows.length > 0;
      throw new ClipdbError("STORE_UNAVAILABLE", {
        location: t.location,
        reason: `the database has no pgvector extension ('vector'), which clipdb needs for its vector column${refused}`,
        hint: installed
          ? "Run 'CREATE EXTENSION vector;' in this database as its owner or a superuser, then open it again."
          : `Install pgvector ${MIN_PGVECTOR} or later on the server (https://github.com/pgvector/pgvector; managed Postgres services ship it), then run 'CREATE EXTENSION vector;' in this database.`,
      });
    }
  }
  if (!versionAtLeast(found.version, MIN_PGVECTOR)) {
    throw new ClipdbError("STORE_UNAVAILABLE", {
      location: t.location,
      reason: `the database has pgvector ${found.version}, older than the ${MIN_PGVECTOR} clipdb needs`,
      hint: "Install a newer pgvector on the server and run 'ALTER EXTENSION vector UPDATE;' in this database.",
    });
  }
  return found;
}

/**
 * Creates the collection's schema and tables when missing (`create`, else NOT_FOUND), or checks
 * them: STORE_CORRUPT for a schema holding other tables, a newer schema version, or a model
 * without its embedding column. Runs in one transaction under an advisory lock, so two processes
 * opening a new collection at once create it once.
 */
export async function ensureSchema(c: pg.PoolClient, n: PgNames, t: PgTarget, create: boolean): Promise<void> {
  const corrupt = (reason: string, hint = "Restore it from a backup, or open another schema (?schema=name)."): ClipdbError =>
    new ClipdbError("STORE_CORRUPT", { path: t.location, reason, hint });
  await c.query("BEGIN");
  try {
    await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`clipdb:${n.schema}`]);
    const exists = (await c.query<{ r: string | null }>("SELECT to_regclass($1)::text AS r", [n.meta])).rows[0].r !== null;
    let version = 0;
    if (!exists) {
      const others = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1", [n.schema]);
      if (Number(others.rows[0].n) > 0) throw corrupt(`the schema '${n.schema}' holds tables that are not a clipdb collection`, "Open another schema (?schema=name).");
      if (!create) throw new ClipdbError("NOT_FOUND", { what: "collection", at: t.location, hint: "Create it first (open it with create, or run 'clipdb add')." });
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${n.schema}"`);
    } else {
      const meta = await c.query<{ v: number }>(`SELECT schema_version AS v FROM ${n.meta} WHERE id = 1`).catch(() => undefined);
      if (meta === undefined || meta.rows.length !== 1) throw corrupt(`its meta table is not a clipdb one, or has no row`);
      version = meta.rows[0].v;
      if (version > PG_SCHEMA_VERSION) {
        throw corrupt(`it uses schema version ${version}, newer than this clipdb supports (${PG_SCHEMA_VERSION})`, "Upgrade clipdb to open it.");
      }
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      await c.query(MIGRATIONS[v](n));
      await c.query(`UPDATE ${n.meta} SET schema_version = $1 WHERE id = 1`, [v + 1]);
    }
    const model = (await c.query<{ dim: number | null }>(`SELECT dim FROM ${n.meta} WHERE id = 1`)).rows[0];
    if (model.dim !== null) {
      const col = await c.query<{ t: string }>(
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding' AND NOT attisdropped",
        [n.items],
      );
      if (!(col.rows[0]?.t ?? "").endsWith(`vector(${model.dim})`)) throw corrupt(`its items table lacks the embedding column vector(${model.dim}) of its model`);
    }
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/** The DDL that gives items its embedding column once the model's dimension is known. */
export function embeddingColumnSql(n: PgNames, dim: number): string {
  return `ALTER TABLE ${n.items} ADD COLUMN embedding ${n.vector}(${dim}) NOT NULL`;
}
