/**
 * The reads of the Postgres store: every StoreReader method as SQL over one pooled client that is
 * already inside a transaction (PgCollectionStore opens and ends it). Semantics follow the SQLite
 * `Store` exactly (the store conformance suite checks both).
 */
import type pg from "pg";
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { ItemPairs, StoreReader } from "./api.js";
import { pgKeywordSql, pgWebsearch } from "./fts.js";
import type { PgNames } from "./pg-schema.js";
import { fromDriver } from "./pg-url.js";
import { decodeVectorInto } from "./pg-vectors.js";
import { checkWhere, pgWhere, type WhereFilter } from "./where.js";
import type { StoreChanges } from "./store.js";
import type { ItemRecord } from "./types.js";

/** Rows per round trip when loading vectors (about 8 MiB of 512-d vectors). */
const VECTOR_PAGE = 4096;

/** The transaction an ops object runs in. */
export interface PgTx {
  names: PgNames;
  /** "read": a REPEATABLE READ READ ONLY snapshot; "write": holds the meta row lock. */
  mode: "read" | "write";
  /** Inside a caller's transaction(fn): each write is a savepoint, so a caught failure rolls back alone. */
  nested: boolean;
  /** Generations this transaction assigned, in order (the handle's lastGeneration after commit). */
  gens: number[];
}

interface ItemRow {
  offset: string;
  id: string;
  modality: Modality;
  source: string | null;
  text: string | null;
  meta: Record<string, unknown>;
  hash: string | null;
  created_at: Date;
}

const COLS = `"offset", id, modality, source, text, meta, hash, created_at`;

/** An items row as an ItemRecord. */
const toRecord = (r: ItemRow): ItemRecord => ({
  id: r.id,
  modality: r.modality,
  source: r.source,
  text: r.text,
  meta: r.meta,
  hash: r.hash,
  offset: Number(r.offset),
  createdAt: r.created_at.toISOString(),
});

/** Offsets from a comma-separated string_agg (null or "" for none). */
const offsetsOf = (csv: string | null): Uint32Array => (csv ? Uint32Array.from(csv.split(","), Number) : new Uint32Array(0));

/** Every StoreReader method as SQL on `client`, inside the transaction `tx`. */
export class PgReader implements StoreReader {
  protected readonly n: PgNames;

  constructor(
    protected readonly client: pg.PoolClient,
    protected readonly tx: PgTx,
  ) {
    this.n = tx.names;
  }

  protected async q<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]> {
    try {
      return (await this.client.query<R>(text, values)).rows;
    } catch (e) {
      throw fromDriver(e);
    }
  }

  protected async one<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R> {
    return (await this.q<R>(text, values))[0];
  }

  async model(): Promise<{ modelId: string; dim: number } | null> {
    const r = await this.one<{ model_id: string | null; dim: number | null }>(`SELECT model_id, dim FROM ${this.n.meta} WHERE id = 1`);
    return r.model_id === null || r.dim === null ? null : { modelId: r.model_id, dim: r.dim };
  }

  async get(id: string): Promise<ItemRecord | undefined> {
    if (id.includes("\u0000")) return undefined; // no stored id has one (writes refuse it), and Postgres text cannot hold it
    const r = await this.q<ItemRow>(`SELECT ${COLS} FROM ${this.n.items} WHERE id = $1`, [id]);
    return r.length ? toRecord(r[0]) : undefined;
  }

  async getManyByOffsets(offsets: ArrayLike<number>): Promise<ItemRecord[]> {
    if (offsets.length === 0) return [];
    const list = Array.from(offsets);
    const byOff = new Map<number, ItemRecord>();
    for (const r of await this.q<ItemRow>(`SELECT ${COLS} FROM ${this.n.items} WHERE "offset" = ANY($1::bigint[])`, [list])) byOff.set(Number(r.offset), toRecord(r));
    return list.flatMap((o) => byOff.get(o) ?? []);
  }

  async findByHash(hash: string): Promise<ItemRecord[]> {
    return (await this.q<ItemRow>(`SELECT ${COLS} FROM ${this.n.items} WHERE hash = $1 ORDER BY "offset"`, [hash])).map(toRecord);
  }

  /** Pages through the vectors in offset order (keyset on the primary key), VECTOR_PAGE rows a trip. */
  async vectors(modality?: Modality, from = 0): Promise<{ offsets: Uint32Array; xs: Float32Array }> {
    const dim = (await this.model())?.dim ?? 0;
    const offsets = await this.liveOffsets(modality, from);
    const xs = new Float32Array(offsets.length * dim);
    let row = 0;
    let lo = from;
    while (row < offsets.length) {
      const rows = await this.q<{ offset: string; v: Buffer }>(
        `SELECT "offset", ${this.n.vectorSend}(embedding) AS v FROM ${this.n.items}
          WHERE "offset" >= $1 ${modality ? "AND modality = $3" : ""} ORDER BY "offset" LIMIT $2`,
        modality ? [lo, VECTOR_PAGE, modality] : [lo, VECTOR_PAGE],
      );
      if (rows.length === 0) break;
      for (const r of rows) {
        const o = Number(r.offset);
        if (o !== offsets[row] || !decodeVectorInto(r.v, dim, xs, row)) throw this.badVector(o);
        row++;
      }
      lo = Number(rows[rows.length - 1].offset) + 1;
    }
    if (row !== offsets.length) throw new ClipdbError("INTERNAL", { reason: "the items table changed while its vectors were read in one snapshot" });
    return { offsets, xs };
  }

  async vector(offset: number): Promise<Float32Array | undefined> {
    const dim = (await this.model())?.dim ?? 0;
    const r = await this.q<{ v: Buffer }>(`SELECT ${this.n.vectorSend}(embedding) AS v FROM ${this.n.items} WHERE "offset" = $1`, [offset]);
    if (r.length === 0) return undefined;
    const out = new Float32Array(dim);
    if (!decodeVectorInto(r[0].v, dim, out, 0)) throw this.badVector(offset);
    return out;
  }

  async vectorsAt(offsets: ArrayLike<number>): Promise<Float32Array> {
    const dim = (await this.model())?.dim ?? 0;
    const out = new Float32Array(offsets.length * dim);
    if (offsets.length === 0) return out;
    const list = Array.from(offsets);
    const found = new Map<number, Buffer>();
    for (const r of await this.q<{ offset: string; v: Buffer }>(
      `SELECT "offset", ${this.n.vectorSend}(embedding) AS v FROM ${this.n.items} WHERE "offset" = ANY($1::bigint[])`,
      [list],
    )) {
      found.set(Number(r.offset), r.v);
    }
    list.forEach((o, i) => {
      const v = found.get(o);
      if (v === undefined) throw new ClipdbError("NOT_FOUND", { what: "item", id: `@${o}`, hint: `Offset ${o} is not live (removed, or never assigned).` });
      if (!decodeVectorInto(v, dim, out, i)) throw this.badVector(o);
    });
    return out;
  }

  async liveOffsets(modality?: Modality, from = 0): Promise<Uint32Array> {
    const r = await this.one<{ o: string | null }>(
      `SELECT string_agg("offset"::text, ',' ORDER BY "offset") AS o FROM ${this.n.items} WHERE "offset" >= $1 ${modality ? "AND modality = $2" : ""}`,
      modality ? [from, modality] : [from],
    );
    return offsetsOf(r.o);
  }

  /**
   * As the SQLite store: meta[key] as text equals the value for every key (numbers by their
   * JSON text, booleans "true"/"false"; null and missing never match). Postgres writes numbers
   * as jsonb numerics, so an exponent form (1e+21) or trailing zeros compare as Postgres prints them.
   */
  async offsetsWhere(where: WhereFilter, modality?: Modality): Promise<Uint32Array> {
    const checked = checkWhere(where);
    if (checked.length === 0) return this.liveOffsets(modality);
    const params: unknown[] = [];
    const conds = [pgWhere(checked, params)];
    if (modality !== undefined) {
      params.push(modality);
      conds.push(`modality = $${params.length}`);
    }
    const r = await this.one<{ o: string | null }>(`SELECT string_agg("offset"::text, ',' ORDER BY "offset") AS o FROM ${this.n.items} WHERE ${conds.join(" AND ")}`, params);
    return offsetsOf(r.o);
  }

  async keywordSearch(query: string, limit: number): Promise<{ offsets: Uint32Array; scores: Float64Array }> {
    const text = pgWebsearch(query);
    if (text === null || limit < 1) return { offsets: new Uint32Array(0), scores: new Float64Array(0) };
    const rows = await this.q<{ o: string; s: number }>(pgKeywordSql(this.n.items), [text, limit]);
    return { offsets: Uint32Array.from(rows, (r) => Number(r.o)), scores: Float64Array.from(rows, (r) => Number(r.s)) };
  }

  async pairedIds(id: string): Promise<string[]> {
    if (id.includes("\u0000")) return [];
    const rows = await this.q<{ other: string }>(
      `SELECT other FROM (
         SELECT p.text_id AS other, i."offset" AS o FROM ${this.n.pairs} p JOIN ${this.n.items} i ON i.id = p.text_id WHERE p.image_id = $1
         UNION ALL
         SELECT p.image_id, i."offset" FROM ${this.n.pairs} p JOIN ${this.n.items} i ON i.id = p.image_id WHERE p.text_id = $1
       ) x ORDER BY o`,
      [id],
    );
    return rows.map((r) => r.other);
  }

  async pairsOfMany(ids: readonly string[]): Promise<Map<string, ItemPairs>> {
    const out = new Map<string, ItemPairs>();
    const wanted = ids.filter((id) => !id.includes("\u0000"));
    if (wanted.length === 0) return out;
    const rows = await this.q<{ id: string; other: string; text: string | null; image: boolean }>(
      `SELECT id, other, text, image FROM (
         SELECT p.image_id AS id, p.text_id AS other, i.text AS text, true AS image, i."offset" AS o
           FROM ${this.n.pairs} p JOIN ${this.n.items} i ON i.id = p.text_id WHERE p.image_id = ANY($1::text[])
         UNION ALL
         SELECT p.text_id, p.image_id, NULL, false, i."offset"
           FROM ${this.n.pairs} p JOIN ${this.n.items} i ON i.id = p.image_id WHERE p.text_id = ANY($1::text[])
       ) x ORDER BY id, o`,
      [wanted],
    );
    for (const r of rows) {
      let e = out.get(r.id);
      if (!e) out.set(r.id, (e = { pairs: [], caption: r.image ? r.text : null }));
      e.pairs.push(r.other);
    }
    return out;
  }

  async pairs(): Promise<{ image: Uint32Array; text: Uint32Array }> {
    const r = await this.one<{ i: string | null; t: string | null }>(
      `SELECT string_agg(a."offset"::text, ',' ORDER BY a."offset", b."offset") AS i, string_agg(b."offset"::text, ',' ORDER BY a."offset", b."offset") AS t
         FROM ${this.n.pairs} p JOIN ${this.n.items} a ON a.id = p.image_id JOIN ${this.n.items} b ON b.id = p.text_id`,
    );
    return { image: offsetsOf(r.i), text: offsetsOf(r.t) };
  }

  async counts(): Promise<{ images: number; texts: number; pairs: number }> {
    const r = await this.one<{ images: string; texts: string; pairs: string }>(
      `SELECT (SELECT count(*) FROM ${this.n.items} WHERE modality = 'image') AS images,
              (SELECT count(*) FROM ${this.n.items} WHERE modality = 'text') AS texts,
              (SELECT count(*) FROM ${this.n.pairs}) AS pairs`,
    );
    return { images: Number(r.images), texts: Number(r.texts), pairs: Number(r.pairs) };
  }

  /** Sorted by source in byte order (COLLATE "C"), as SQLite sorts, whatever the database's collation. */
  async sources(prefix?: string): Promise<{ id: string; source: string; hash: string | null }[]> {
    return this.q<{ id: string; source: string; hash: string | null }>(
      `SELECT id, source, hash FROM ${this.n.items}
        WHERE source IS NOT NULL AND ($1::text IS NULL OR starts_with(source, $1::text))
        ORDER BY source COLLATE "C", "offset"`,
      [prefix ?? null],
    );
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    const raw = await this.getSettingRaw(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async getSettingRaw(key: string): Promise<string | undefined> {
    const r = await this.q<{ value: string }>(`SELECT value FROM ${this.n.settings} WHERE key = $1`, [key]);
    return r[0]?.value;
  }

  async generation(): Promise<number> {
    return Number((await this.one<{ g: string }>(`SELECT generation AS g FROM ${this.n.meta} WHERE id = 1`)).g);
  }

  async changesSince(from: number): Promise<StoreChanges | null> {
    const to = await this.generation();
    const none = new Uint32Array(0);
    if (from === to) return { to, added: { image: none, text: none }, removed: { image: none, text: none } };
    if (from > to || from < 0) return null;
    const rows = await this.q<{ g: string; ri: string | null; rt: string | null }>(
      `SELECT generation AS g, array_to_string(removed_image, ',') AS ri, array_to_string(removed_text, ',') AS rt
         FROM ${this.n.changes} WHERE generation > $1 ORDER BY generation`,
      [from],
    );
    if (rows.length !== to - from || Number(rows[0].g) !== from + 1) return null;
    const added = await this.q<{ o: string; m: Modality }>(
      `SELECT i."offset" AS o, i.modality AS m FROM ${this.n.changes} c
         JOIN ${this.n.items} i ON i."offset" >= c.added_lo AND i."offset" < c.added_hi
        WHERE c.generation > $1 AND c.added_hi > c.added_lo ORDER BY c.generation, i."offset"`,
      [from],
    );
    const add = { image: [] as number[], text: [] as number[] };
    for (const r of added) add[r.m].push(Number(r.o));
    const cat = (key: "ri" | "rt"): Uint32Array => offsetsOf(rows.map((r) => r[key]).filter((x): x is string => !!x).join(","));
    return { to, added: { image: Uint32Array.from(add.image), text: Uint32Array.from(add.text) }, removed: { image: cat("ri"), text: cat("rt") } };
  }

  async changedSince(from: number, modality?: Modality): Promise<number> {
    const to = await this.generation();
    if (from === to) return 0;
    if (from > to || from < 0) return Infinity;
    const r = await this.one<{ n: string; min: string | null; image: string | null; text: string | null }>(
      `SELECT count(*) AS n, min(generation) AS min,
              sum(added_image + coalesce(cardinality(removed_image), 0)) AS image,
              sum(added_text + coalesce(cardinality(removed_text), 0)) AS text
         FROM ${this.n.changes} WHERE generation > $1`,
      [from],
    );
    if (Number(r.n) !== to - from || Number(r.min) !== from + 1) return Infinity;
    const image = Number(r.image ?? 0);
    const text = Number(r.text ?? 0);
    return modality === "image" ? image : modality === "text" ? text : image + text;
  }

  async getBlob(key: string): Promise<Buffer | undefined> {
    const r = await this.q<{ data: Buffer }>(`SELECT data FROM ${this.n.blobs} WHERE key = $1`, [key]);
    return r[0]?.data;
  }

  protected badVector(offset: number): ClipdbError {
    return new ClipdbError("STORE_CORRUPT", { path: this.n.items, reason: `the vector of offset ${offset} is not a vector of the collection's dimension`, hint: "Restore it from a backup." });
  }
}
