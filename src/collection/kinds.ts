/**
 * How a collection builds each registered index kind, and the registration lines. The query layer
 * (src/query/kinds.ts) holds what a kind is to a query (name, search parameter, auto rank,
 * description); a kind here adds how it is built from a collection's vectors: into a file next to
 * a SQLite collection (`LocalKind.make`, the saved file then reopened by its magic through the
 * index layer's registry), or inside Postgres (`PgKind.build`, a pgvector index).
 *
 * Adding a kind: one file defining it (see kind-ivf.ts, kind-hnsw.ts, pg-kinds.ts) and one
 * `registerLocalKind` or `registerPgKind` line below. Its name becomes a choice of `--index`,
 * `clipdb index build --type`, the HTTP `index` parameter and OpenAPI enum, `clipdb eval --index`
 * and the web UI's selector (which lists what GET /api/v1/stats reports as `kinds`).
 */
import { registerAnnKind, requireKind, type AnnKind, type KindStore } from "../query/index.js";
import type { LocalKind, PgKind } from "./kind-types.js";
import type { KindInfo } from "./types.js";
import { ivfLocal } from "./kind-ivf.js";
import { hnswLocal } from "./kind-hnsw.js";
import { ivfF16Local, ivfPqLocal, ivfSq4Local, ivfSq8Local } from "./kind-ivfcodes.js";
import { pgvectorHnsw, pgvectorIvfflat } from "./pg-kinds.js";

export type { LocalKind, PgKind } from "./kind-types.js";

const local = new Map<string, LocalKind>();
const remote = new Map<string, PgKind>();

/** Registers a file-backed kind (for SQLite collections). */
export function registerLocalKind(kind: LocalKind): void {
  registerAnnKind(kind);
  local.set(kind.name, kind);
}

/** Registers a pgvector kind (for Postgres collections). */
export function registerPgKind(kind: PgKind): void {
  registerAnnKind(kind);
  remote.set(kind.name, kind);
}

/** The file-backed kind named `name`; INVALID_ARGUMENT listing the names when there is none. */
export function localKind(name: string, what = "type"): LocalKind {
  requireKind(name, "sqlite", what);
  return local.get(name)!;
}

/** The pgvector kind named `name`; INVALID_ARGUMENT listing the names when there is none. */
export function pgKind(name: string, what = "type"): PgKind {
  requireKind(name, "postgres", what);
  return remote.get(name)!;
}

/** The pgvector kind whose store name is `pgType`, or undefined. */
export function pgKindOf(pgType: string): PgKind | undefined {
  return [...remote.values()].find((k) => k.pgType === pgType);
}

/** The kinds of a store, for status and the UI: name, id, parameter, description. */
export function kindsOf(store: KindStore): KindInfo[] {
  const all: AnnKind[] = store === "postgres" ? [...remote.values()] : [...local.values()];
  return all.sort((a, b) => a.autoRank - b.autoRank).map((k) => ({ name: k.name, kind: k.id, param: k.param.key, default: k.param.default, describe: k.describe }));
}

// ---- the registered kinds, one line each ----
// SQLite collections: clipdb's own index files.
registerLocalKind(hnswLocal);
registerLocalKind(ivfLocal);
registerLocalKind(ivfSq8Local);
registerLocalKind(ivfPqLocal);
registerLocalKind(ivfSq4Local);
registerLocalKind(ivfF16Local);
// Postgres collections: pgvector's indexes, registered on the Postgres side.
registerPgKind(pgvectorHnsw);
registerPgKind(pgvectorIvfflat);
