export * from "./types.js";
export { Collection, DEFAULT_MODEL, type OpenOptions } from "./collection.js";
export { defaultNlist, COMPACT_MIN, COMPACT_FRACTION, type BuildOptions, type IndexSetOptions } from "./indexes.js";
export { ownCaptions } from "./ingest.js";
export type { VectorImport } from "./import.js";
export type { EvalConfig, EvalReport, EvalRow, DirectionReport, TunePoint } from "../query/index.js";
export { annNames, annKinds, annKind, countsScanned, paramOf, indexChoices, rowsOf, sweepOf, type AnnKind, type KindParam, type KindStore } from "../query/index.js";
export { kindsOf, registerLocalKind, registerPgKind, localKind, pgKind, type LocalKind, type PgKind } from "./kinds.js";
export type { AdaptedEval, AdaptRunOptions, AdapterSetting } from "./adapt.js";
