/**
 * The writes of the Postgres store (its reads are PgReader's), over one pooled client inside a
 * transaction that holds the collection's meta row lock. Semantics follow the SQLite `Store`.
 */
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { StoreWriter } from "./api.js";
import { PgReader } from "./pg-reads.js";
import { PG_MAX_DIM, embeddingColumnSql } from "./pg-schema.js";
import { encodeVectorArray } from "./pg-vectors.js";
import { checkBatch } from "./records.js";
import { CHANGE_LOG_KEEP } from "./store.js";
import type { ItemRecord, NewItem, Pair } from "./types.js";

export type { PgTx } from "./pg-reads.js";

const MAX_OFFSET = 0xffffffff;

/** What one write changed, as logged in `changes`. */
interface Change {
  lo: number;
  hi: number;
  added: { image: number; text: number };
  removed: { image: number[]; text: number[] };
}

/** INVALID_ARGUMENT for a string Postgres text cannot hold (NUL characters). */
function checkNoNul(value: string | null, name: string): void {
  if (value !== null && value.includes("\u0000")) {
    throw new ClipdbError("INVALID_ARGUMENT", { name, reason: "it contains a NUL character (\\u0000), which Postgres text and jsonb cannot store" });
  }
}

/** Every StoreWriter method: PgReader's reads plus the writes, as SQL inside the transaction. */
export class PgOps extends PgReader implements StoreWriter {
  async setModel(modelId: string, dim: number): Promise<void> {
    if (typeof modelId !== "string" || modelId.length === 0) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "modelId", reason: "it must be a non-empty string" });
    }
    if (!Number.isInteger(dim) || dim < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: `${dim} is not a positive integer` });
    if (dim > PG_MAX_DIM) throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: `${dim} is above pgvector's limit of ${PG_MAX_DIM} dimensions per vector` });
    checkNoNul(modelId, "modelId");
    const check = async (): Promise<boolean> => {
      const cur = await this.model();
      if (cur === null) return false;
      if (cur.dim !== dim) throw new ClipdbError("DIM_MISMATCH", { expected: cur.dim, got: dim, where: `model '${modelId}' for a collection of '${cur.modelId}'` });
      if (cur.modelId !== modelId) throw new ClipdbError("MODEL_MISMATCH", { expected: cur.modelId, got: modelId });
      return true;
    };
    if (await check()) return;
    await this.write(
      async () => {
        if (await check()) return false; // another process set it meanwhile
        await this.q(`UPDATE ${this.n.meta} SET model_id = $1, dim = $2 WHERE id = 1`, [modelId, dim]);
        await this.q(embeddingColumnSql(this.n, dim));
        return true;
      },
      (set) => set,
    );
  }

  async addItems(items: NewItem[], vectors: Float32Array, pairs: Pair[] = []): Promise<ItemRecord[]> {
    const model = await this.model();
    const metas = checkBatch(model, items, vectors, (it, i, json) => {
      for (const k of ["id", "source", "text", "hash"] as const) checkNoNul(it[k], `items[${i}].${k}`);
      if (/(^|[^\\])(\\\\)*\\u0000/.test(json)) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: `meta of '${it.id}'`, reason: "it contains a NUL character (\\u0000), which Postgres jsonb cannot store" });
      }
    });
    if (items.length === 0 && pairs.length === 0) return [];
    const { dim } = model!;
    return this.write(async (ch) => {
      const start = Number((await this.one<{ n: string }>(`SELECT next_offset AS n FROM ${this.n.meta} WHERE id = 1`)).n);
      if (start + items.length - 1 > MAX_OFFSET) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: "items", reason: "the collection has used all 2^32 offsets", hint: "Create a new collection." });
      }
      const createdAt = new Date().toISOString();
      const out: ItemRecord[] = items.map((it, i) => ({ id: it.id, modality: it.modality, source: it.source, text: it.text, meta: it.meta, hash: it.hash, offset: start + i, createdAt }));
      if (items.length > 0) {
        const taken = new Set((await this.q<{ id: string }>(`SELECT id FROM ${this.n.items} WHERE id = ANY($1::text[])`, [items.map((it) => it.id)])).map((r) => r.id));
        const dup = items.find((it) => taken.has(it.id));
        if (dup !== undefined) throw new ClipdbError("DUPLICATE_ID", { id: dup.id });
        await this.q(
          `INSERT INTO ${this.n.items} ("offset", id, modality, source, text, meta, hash, created_at, embedding)
           SELECT o, i, m, s, t, j::jsonb, h, $8::timestamptz, e
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::${this.n.vector}[]) AS u(o, i, m, s, t, j, h, e)`,
          [
            out.map((r) => r.offset),
            items.map((it) => it.id),
            items.map((it) => it.modality),
            items.map((it) => it.source),
            items.map((it) => it.text),
            metas,
            items.map((it) => it.hash),
            createdAt,
            encodeVectorArray(vectors, dim, this.n.vectorOid),
          ],
        );
        await this.q(`UPDATE ${this.n.meta} SET next_offset = $1 WHERE id = 1`, [start + items.length]);
        for (const it of items) ch.added[it.modality]++;
        ch.lo = start;
        ch.hi = start + items.length;
      }
      await this.insertPairs(pairs);
      return out;
    });
  }

  async addPairs(pairs: Pair[]): Promise<void> {
    if (pairs.length === 0) return;
    await this.write(() => this.insertPairs(pairs));
  }

  async remove(ids: string[], opts: { strict?: boolean } = {}): Promise<Uint32Array> {
    if (ids.length === 0) return new Uint32Array(0);
    return this.write(
      async (ch) => {
        const rows = await this.q<{ offset: string; modality: Modality; id: string }>(`SELECT "offset", modality, id FROM ${this.n.items} WHERE id = ANY($1::text[])`, [ids.filter((id) => !id.includes("\u0000"))]);
        const byId = new Map(rows.map((r) => [r.id, r]));
        const removed: number[] = [];
        for (const id of ids) {
          const row = byId.get(id);
          if (row === undefined) {
            if (opts.strict) throw new ClipdbError("NOT_FOUND", { what: "item", id, hint: "Nothing was removed." });
            continue;
          }
          byId.delete(id); // a repeated id is gone the second time, as in SQLite
          removed.push(Number(row.offset));
          ch.removed[row.modality].push(Number(row.offset));
        }
        if (removed.length > 0) await this.q(`DELETE FROM ${this.n.items} WHERE "offset" = ANY($1::bigint[])`, [removed]);
        return Uint32Array.from(removed);
      },
      (r) => r.length > 0,
    );
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (e) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: key, reason: `the setting is not JSON-serialisable (${(e as Error).message})` }, { cause: e });
    }
    checkNoNul(key, "setting key");
    await this.write(async () => {
      if (json === undefined) await this.q(`DELETE FROM ${this.n.settings} WHERE key = $1`, [key]);
      else await this.q(`INSERT INTO ${this.n.settings} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, json]);
    }, false);
  }

  async putBlob(key: string, data: Buffer): Promise<void> {
    checkNoNul(key, "blob key");
    await this.write(async () => {
      await this.q(`INSERT INTO ${this.n.blobs} (key, data) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data`, [key, data]);
    }, false);
  }

  private async insertPairs(pairs: Pair[]): Promise<void> {
    if (pairs.length === 0) return;
    const ids = [...new Set(pairs.flatMap((p) => [p.imageId, p.textId]))];
    const rows = await this.q<{ id: string; modality: Modality }>(`SELECT id, modality FROM ${this.n.items} WHERE id = ANY($1::text[])`, [ids.filter((id) => !id.includes("\u0000"))]);
    const modalityOf = new Map(rows.map((r) => [r.id, r.modality]));
    for (const p of pairs) {
      const mi = modalityOf.get(p.imageId);
      if (mi === undefined) throw new ClipdbError("NOT_FOUND", { what: "item", id: p.imageId, hint: "Add the image before pairing it; nothing was written." });
      const mt = modalityOf.get(p.textId);
      if (mt === undefined) throw new ClipdbError("NOT_FOUND", { what: "item", id: p.textId, hint: "Add the text before pairing it; nothing was written." });
      if (mi !== "image" || mt !== "text") {
        throw new ClipdbError("INVALID_ARGUMENT", {
          name: "pairs",
          reason: `a pair links an image to a text, but '${p.imageId}' is ${mi === "image" ? "an image" : "a text"} and '${p.textId}' is ${mt === "image" ? "an image" : "a text"}`,
        });
      }
    }
    await this.q(`INSERT INTO ${this.n.pairs} (image_id, text_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [
      pairs.map((p) => p.imageId),
      pairs.map((p) => p.textId),
    ]);
  }

  /**
   * One write: runs `fn` (a savepoint inside a caller's transaction), then, unless `bump` says
   * not, bumps the generation and logs the change, as the SQLite store's write() does.
   */
  private async write<T>(fn: (ch: Change) => Promise<T>, bump: boolean | ((r: T) => boolean) = true): Promise<T> {
    if (this.tx.mode !== "write") {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "store", reason: "a write was called inside read()", hint: "Use transaction() for writes." });
    }
    const sp = this.tx.nested;
    if (sp) await this.q("SAVEPOINT clipdb_write");
    let gen: number | undefined;
    try {
      const ch: Change = { lo: 0, hi: 0, added: { image: 0, text: 0 }, removed: { image: [], text: [] } };
      const r = await fn(ch);
      if (typeof bump === "function" ? bump(r) : bump) {
        gen = Number((await this.one<{ g: string }>(`UPDATE ${this.n.meta} SET generation = generation + 1 WHERE id = 1 RETURNING generation AS g`)).g);
        await this.q(
          `INSERT INTO ${this.n.changes} (generation, added_lo, added_hi, added_image, added_text, removed_image, removed_text) VALUES ($1, $2, $3, $4, $5, $6::bigint[], $7::bigint[])`,
          [gen, ch.lo, ch.hi, ch.added.image, ch.added.text, ch.removed.image.length ? ch.removed.image : null, ch.removed.text.length ? ch.removed.text : null],
        );
        if (gen % 1024 === 0) await this.q(`DELETE FROM ${this.n.changes} WHERE generation <= $1`, [gen - CHANGE_LOG_KEEP]);
      }
      if (sp) await this.q("RELEASE SAVEPOINT clipdb_write");
      if (gen !== undefined) this.tx.gens.push(gen);
      return r;
    } catch (e) {
      if (sp) await this.q("ROLLBACK TO SAVEPOINT clipdb_write; RELEASE SAVEPOINT clipdb_write").catch(() => undefined);
      if ((e as { code?: string }).code === "23505" && /items_id_key/.test((e as Error).message)) {
        const id = /\(id\)=\((.*)\) already exists/.exec(String((e as { detail?: string }).detail))?.[1] ?? "?";
        throw new ClipdbError("DUPLICATE_ID", { id }, { cause: e });
      }
      throw e;
    }
  }
}
