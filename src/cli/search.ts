import { readFileSync, existsSync } from "node:fs";
import { extname } from "node:path";
import { ClipdbError } from "../core/errors.js";
import { parseF32, parseNpy } from "../core/npy.js";
import { countsScanned, type Collection, type IndexChoice, type QueryInput, type SearchMode, type SearchResult } from "../collection/index.js";
import { requireOneQuery, type SortOrder } from "../query/index.js";
import { clip, table } from "./output.js";
import { termsNeedModel, termsOf, type TermFlags } from "./terms.js";

/** Options of `clipdb search`. */
export interface SearchFlags extends TermFlags {
  text?: string;
  image?: string;
  item?: string;
  vectorFile?: string;
  dim?: number;
  k: number;
  modality?: "image" | "text" | "any";
  index?: IndexChoice;
  nprobe?: number;
  ef?: number;
  /** Filter expressions (`taken>=2020-01-01`, `camera in (Canon,Nikon)`), all of which must hold. */
  where?: string[];
  /** A relevance cutoff: a number in [0, 1] or "auto". */
  minRelevance?: string;
  /** false with --no-adapt. */
  adapt?: boolean;
  sort?: SortOrder;
  mode?: SearchMode;
  offset?: number;
}

function queryOf(f: SearchFlags): QueryInput {
  const flags = { "--text": f.text, "--image": f.image, "--item": f.item, "--vector-file": f.vectorFile };
  const given = Object.entries(flags).filter(([, v]) => v !== undefined).map(([flag]) => flag);
  const terms = termsOf(f);
  if (given.length === 0 && terms.plus) return terms;
  // Before any file is read; the error names the flags given.
  requireOneQuery(given, Object.keys(flags));
  if (f.image !== undefined && !existsSync(f.image)) throw new ClipdbError("INVALID_ARGUMENT", { name: "image", reason: `'${f.image}' does not exist` });
  if (f.vectorFile === undefined) return { text: f.text, image: f.image, item: f.item, ...terms };
  if (!existsSync(f.vectorFile)) throw new ClipdbError("INVALID_ARGUMENT", { name: "vector-file", reason: `'${f.vectorFile}' does not exist` });
  const buf = readFileSync(f.vectorFile);
  const m = extname(f.vectorFile).toLowerCase() === ".npy" ? parseNpy(buf, f.vectorFile) : parseF32(buf, f.dim ?? NaN, f.vectorFile);
  return { vector: m.data.slice(0, m.dim), ...terms };
}

/**
 * Loads the model first when the query needs it (text or image), so that a cold start's load time
 * is reported apart from the search's. Returns the load time in ms, or undefined when the query
 * needs no model (item, vector).
 */
export async function loadModelFor(col: Collection, f: SearchFlags): Promise<number | undefined> {
  if ((f.text === undefined && f.image === undefined && !termsNeedModel(f)) || col.dim === null) return undefined;
  const t0 = performance.now();
  await col.embedder();
  return performance.now() - t0;
}

/** Runs one search from CLI flags. */
export function runSearch(col: Collection, f: SearchFlags): Promise<SearchResult> {
  if (!Number.isInteger(f.k) || f.k < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "k", reason: "must be a positive integer" });
  return col.search(queryOf(f), { k: f.k, modality: f.modality, index: f.index, nprobe: f.nprobe, ef: f.ef, where: f.where?.length ? f.where : undefined, sort: f.sort, mode: f.mode, offset: f.offset, minRelevance: f.minRelevance as number | "auto" | undefined, adapt: f.adapt });
}

/**
 * The `--json` shape: {"results":[{"rank","id","modality","score","relevance","path","text"(,"rrf")}], "ms",
 * "index", "scanned", "mode"}, plus "modelLoadMs" when the model was loaded for this query (`ms` excludes it).
 */
export function searchJson(r: SearchResult, modelLoadMs?: number): object {
  return {
    results: r.results.map(({ rank, id, modality, score, relevance, path, text, rrf }) => ({ rank, id, modality, score, relevance, path, text, ...(rrf === undefined ? {} : { rrf }) })),
    ms: r.ms,
    index: r.index,
    scanned: r.scanned,
    mode: r.mode,
    ...(modelLoadMs === undefined ? {} : { modelLoadMs }),
    ...(r.adapted ? { adapted: r.adapted } : {}),
    ...(r.hint ? { hint: r.hint } : {}),
  };
}

/**
 * The human table: rank, id, modality, score, path or text; then the time of the search (query
 * embedding included) and, apart, the model's load time. HNSW does not count the vectors it
 * scores, so it says n/a.
 */
export function searchTable(r: SearchResult, modelLoadMs?: number): string {
  const load = modelLoadMs === undefined ? "" : `; model loaded in ${modelLoadMs.toFixed(0)} ms`;
  const scored = countsScanned(r.index) ? `${r.scanned} vectors scored` : "vectors scored n/a";
  const summary = `in ${r.ms.toFixed(1)} ms (${r.mode === "vector" ? "" : `${r.mode}, `}${r.index}, ${scored}${r.adapted ? `, ${r.adapted} adapter` : ""}${load})`;
  if (!r.results.length) return `no results ${summary}${r.hint ? `\nhint: ${r.hint}` : ""}`;
  const rows = r.results.map((h) => [h.rank, clip(h.id, 40), h.modality, h.score.toFixed(4), h.relevance.toFixed(2), clip(h.path ?? h.text ?? "", 70)]);
  return `${table(["rank", "id", "modality", "score", "relevance", "path/text"], rows)}\n${r.results.length} results ${summary}`;
}
