/**
 * The registry of approximate index kinds as queries see them. A kind has an `id` (unique:
 * "ivf", "hnsw", "pgvector-hnsw", "pgvector-ivfflat") and a `name`, the word queries ask for it by
 * (`--index hnsw`, `?index=ivf`, IndexStatus.type, the eval report's rows): one name may be served
 * by one kind per store, so `--index hnsw` means clipdb's HNSW file on a SQLite collection and
 * pgvector's HNSW on Postgres. Each kind states its search parameter (nprobe or ef: its default,
 * the server setting it maps to, the values tuning and evaluation sweep), where it comes in
 * "auto", and one line that describes it for status, help and the web UI.
 *
 * The collection layer registers the kinds (src/collection/kinds.ts) together with how each is
 * built; this layer only reads the registry, so the planner, evaluation and tuning handle any kind.
 */
import { ClipdbError } from "../core/errors.js";

/** Where a kind's index lives: files next to a SQLite collection, or inside Postgres. */
export type KindStore = "sqlite" | "postgres";

/** The one search parameter of a kind. */
export interface KindParam {
  /** The SearchOptions key and query parameter (`nprobe`, `ef`). */
  key: "nprobe" | "ef";
  /** Used when neither the query nor a tuned default says. */
  default: number;
  /** The server setting it becomes, when the search runs elsewhere (`hnsw.ef_search`). */
  setting?: string;
  /** What it trades, for help and the UI. */
  help: string;
  /** Values `tune` tries, smallest first (it stops at the first that reaches the target). */
  tune: readonly number[];
}

/** An approximate index kind. */
export interface AnnKind {
  /** Unique id: "ivf", "hnsw", "pgvector-hnsw". */
  readonly id: string;
  /** The name queries ask for it by; must not be "auto" or "exact". */
  readonly name: string;
  /** Which store it serves. */
  readonly store: KindStore;
  /** Its search parameter. */
  readonly param: KindParam;
  /** Order under "auto": the built kind with the lowest rank answers (HNSW 1, IVF 2). */
  readonly autoRank: number;
  /** Whether its searches count the vectors they score (IVF lists do; a graph search does not: "n/a"). */
  readonly countsScanned: boolean;
  /** One line for status, help and the UI ("HNSW graph (clipdb file), M 32 by default"). */
  readonly describe: string;
}

const kinds = new Map<string, AnnKind>();

/** Registers a kind (ids are unique; one kind per name and store). */
export function registerAnnKind(kind: AnnKind): void {
  if (kind.name === "auto" || kind.name === "exact") throw new Error(`index kind '${kind.id}' may not be named '${kind.name}'`);
  if (kinds.has(kind.id)) throw new Error(`index kind '${kind.id}' is registered twice`);
  if ([...kinds.values()].some((k) => k.name === kind.name && k.store === kind.store)) throw new Error(`two index kinds named '${kind.name}' for ${kind.store}`);
  kinds.set(kind.id, kind);
}

/** The registered kinds (of one store, when given), by auto rank. */
export function annKinds(store?: KindStore): AnnKind[] {
  return [...kinds.values()].filter((k) => store === undefined || k.store === store).sort((a, b) => a.autoRank - b.autoRank);
}

/** The names queries may ask for (over every store), by auto rank: ["hnsw", "ivf"]. */
export function annNames(): string[] {
  return [...new Set(annKinds().map((k) => k.name))];
}

/** Every `index` a query may ask for: "auto", "exact", then the kinds' names. */
export function indexChoices(): string[] {
  return ["auto", "exact", ...annNames()];
}

/** The kind a store serves under `name`, or undefined. */
export function annKind(name: string, store: KindStore): AnnKind | undefined {
  return annKinds(store).find((k) => k.name === name);
}

/**
 * The kind a store serves under `name`; INVALID_ARGUMENT naming `what` (a flag) and listing the
 * names that store has when there is none.
 */
export function requireKind(name: string, store: KindStore, what = "type"): AnnKind {
  const k = annKind(name, store);
  if (k) return k;
  const names = annKinds(store).map((x) => x.name);
  throw new ClipdbError("INVALID_ARGUMENT", { name: what, reason: `'${name}' is not ${names.join(" or ")}`, hint: `Index kinds of a ${store === "postgres" ? "Postgres" : "SQLite"} collection: ${annKinds(store).map((x) => `${x.name} (${x.describe})`).join("; ")}.` });
}

/** Whether a search answered by `index` ("exact" or a kind's name) reports the vectors it scored. */
export function countsScanned(index: string): boolean {
  return index === "exact" || annKinds().some((k) => k.name === index && k.countsScanned);
}

/** The parameter key of the kind named `name` (the same for every store serving it), or undefined. */
export function paramOf(name: string): KindParam | undefined {
  return annKinds().find((k) => k.name === name)?.param;
}
