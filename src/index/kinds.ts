/**
 * The registry of index kinds of the index layer: for each spec type ("flat", "ivf", "hnsw", …)
 * how its spec string is parsed and written, how an empty index is created, how a saved file is
 * recognised (its magic) and opened, and how an index instance reports its spec. `spec.ts`
 * dispatches over it; a new kind is one file defining a `SpecKind` plus one line in `spec.ts`
 * (`registerSpecKind(myKind)`), and a new spec interface added to `IndexSpecs` by declaration
 * merging (`declare module "./kinds.js" { interface IndexSpecs { mykind: MySpec } }`).
 */
import type { VectorIndex } from "../core/types.js";

/** The typed spec of every registered kind, by spec type (extended by each kind's file). */
export interface IndexSpecs {}

/** A typed index spec of any registered kind. */
export type IndexSpec = IndexSpecs[keyof IndexSpecs];

/** Any clipdb index (every kind implements core's VectorIndex, plus save). */
export type AnyIndex = VectorIndex & { save(path: string): Promise<void> | void };

/** How a kind's files are recognised: 8 magic bytes at the start (`head`) or in the trailer (`tail`). */
export interface KindMagic {
  head?: string;
  tail?: string;
}

/** One index kind of the index layer. */
export interface SpecKind<S extends { type: string } = { type: string }> {
  /** The spec type, unique: "flat", "ivf", "hnsw". */
  readonly type: S["type"];
  /** The spec syntax, for error hints: "'HNSW<M>' (e.g. HNSW32)". */
  readonly syntax: string;
  /**
   * Parses a spec string already upper-cased with spaces removed (`raw` is the caller's text, for
   * errors). Returns undefined when the string is not of this kind; throws INVALID_ARGUMENT when it
   * is, but a value is out of range (`bad(reason)` makes that error).
   */
  parse(s: string, bad: (reason: string) => Error): S | undefined;
  /** The canonical spec string (parse(format(s)) equals s). */
  format(spec: S): string;
  /** An empty index of this spec (IVF kinds still need training). */
  create(spec: S, dim: number): AnyIndex;
  /** Whether `index` is an instance of this kind, and its spec. */
  specOf(index: unknown): S | undefined;
  /** The file magic `load` and `check` dispatch on. */
  readonly magic: KindMagic;
  /** Opens a saved index; `view`: memory-map what can be (ignored where nothing can). */
  load(path: string, opts: { view?: boolean }): Promise<AnyIndex> | AnyIndex;
  /** A cheap structural check of a saved file (INDEX_CORRUPT when broken). */
  check(path: string): void;
  /**
   * Bytes the index takes in RAM once `load`ed, from the file's header (optional; default: the
   * file's size, right for kinds that read their whole file into memory).
   */
  residentBytes?(path: string): number;
}

const kinds = new Map<string, SpecKind>();

/** Registers a kind (once per spec type; a second kind with the same type is an error). */
export function registerSpecKind<S extends { type: string }>(kind: SpecKind<S>): void {
  if (kinds.has(kind.type)) throw new Error(`index kind '${kind.type}' is registered twice`);
  kinds.set(kind.type, kind as unknown as SpecKind);
}

/** The registered kinds, in registration order (parsing tries them in this order). */
export function specKinds(): SpecKind[] {
  return [...kinds.values()];
}

/** The kind of a spec type, or undefined. */
export function specKind(type: string): SpecKind | undefined {
  return kinds.get(type);
}
