import { readFileSync, existsSync } from "node:fs";
import { extname, resolve, sep } from "node:path";
import { ClipdbError } from "../core/errors.js";
import { parseF32, parseNpy } from "../core/npy.js";
import { ownCaptions, type Collection } from "../collection/index.js";
import type { AddSummary, ImageInput, TextInput } from "../collection/index.js";
import { readCaptions } from "./captions.js";
import { readTextFile } from "./textfile.js";
import { EXIT } from "./output.js";
import { progressBar } from "./progress.js";
import { findImages } from "./walk.js";

/** Options of `clipdb add`. */
export interface AddFlags {
  captions?: string;
  texts?: string;
  vectors?: string;
  ids?: string;
  modality?: "image" | "text";
  pairIds?: string;
  modelId?: string;
  dim?: number;
  prune?: boolean;
  batchSize?: number;
  json?: boolean;
  /** Encoding of --texts and --captions files; default utf-8. */
  encoding?: string;
  /** Skip images that are near-duplicates of stored ones (or of ones added just before). */
  skipDuplicates?: boolean;
  /** With skipDuplicates: the least cosine (default 0.9). */
  threshold?: number;
}

/** The non-empty lines of a text file (see readTextFile), with their 1-based line numbers. */
function lines(path: string, what: string, encoding?: string): { line: string; n: number }[] {
  return readTextFile(path, what, encoding)
    .split(/\r?\n/)
    .map((line, i) => ({ line, n: i + 1 }))
    .filter((l) => l.line.length > 0);
}

/**
 * Reads a texts file: one text per line, or JSONL objects {"id","text",...metadata}. Ids must be
 * strings; a JSONL line that is not an object, has no "text" string or a non-string "id" is
 * INVALID_ARGUMENT naming the file and line. `encoding`: see readTextFile (default UTF-8).
 */
export function readTexts(path: string, encoding?: string): TextInput[] {
  return lines(path, "texts", encoding).map(({ line, n }) => {
    if (!line.trimStart().startsWith("{")) return { text: line };
    const bad = (reason: string): never => {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "texts", reason: `line ${n} of '${path}' ${reason}` });
    };
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      bad("is not valid JSON");
    }
    if (o === null || typeof o !== "object" || Array.isArray(o)) bad("is not a JSON object");
    const { id, text, ...meta } = o as Record<string, unknown>;
    if (typeof text !== "string") bad('has no "text" string');
    if (id !== undefined && (typeof id !== "string" || id === "")) bad(`has an "id" that is not a non-empty string (got ${JSON.stringify(id)}); write it as a string, e.g. "id": "123"`);
    return { id: id as string | undefined, text: text as string, meta };
  });
}

/** Runs `clipdb add`; returns the summary and the exit code (2 when some files failed). */
export async function runAdd(col: Collection, paths: string[], f: AddFlags, signal: AbortSignal): Promise<{ summary: AddSummary; code: number }> {
  const bar = progressBar("adding", !f.json);
  const onProgress = (d: number, t: number) => bar.update(d, t);
  let summary: AddSummary;
  try {
    if (f.vectors) summary = await col.addVectors(readVectors(f));
    else if (f.texts) summary = await col.addTexts(readTexts(f.texts, f.encoding), { onProgress, signal, batchSize: f.batchSize });
    else {
      if (!paths.length) throw new ClipdbError("INVALID_ARGUMENT", { name: "paths", reason: "no files or folders given", hint: "Usage: clipdb add <files|folders...> (or --texts, --vectors)." });
      const { found, skipped } = findImages(paths);
      const caps = f.captions ? readCaptions(f.captions, f.encoding) : undefined;
      const inputs: ImageInput[] = found.map((img) => ({
        path: img.path,
        id: img.id,
        captions: caps?.get(img.path.split(sep).pop()!) ?? img.sidecar,
      }));
      const skipDuplicates = f.skipDuplicates ? (f.threshold === undefined ? true : { threshold: f.threshold }) : undefined;
      summary = await col.addImages(inputs, { onProgress, signal, batchSize: f.batchSize, skipDuplicates });
      summary = { ...summary, failed: summary.failed + skipped.length, errors: [...skipped, ...summary.errors] };
      if (f.prune) summary = { ...summary, pruned: await prune(col, paths) } as AddSummary;
    }
  } finally {
    bar.stop();
  }
  return { summary, code: summary.failed > 0 ? EXIT.partial : EXIT.ok };
}

/** Removes image items whose source file lies under the given folders and no longer exists. */
async function prune(col: Collection, paths: string[]): Promise<number> {
  const roots = paths.map((p) => resolve(p));
  const gone = (await col.sources()).filter((s) => roots.some((r) => s.source === r || s.source.startsWith(r + sep)) && !existsSync(s.source));
  const ids: string[] = [];
  for (const s of gone) ids.push(s.id, ...ownCaptions(s.id, (await col.get(s.id))?.pairs ?? []));
  return ids.length ? col.remove(ids) : 0;
}

function readVectors(f: AddFlags) {
  if (!f.ids) throw new ClipdbError("INVALID_ARGUMENT", { name: "ids", reason: "--vectors needs --ids <ids.txt>" });
  if (f.modality !== "image" && f.modality !== "text") throw new ClipdbError("INVALID_ARGUMENT", { name: "modality", reason: "--vectors needs --modality image|text" });
  const path = f.vectors!;
  if (!existsSync(path)) throw new ClipdbError("INVALID_ARGUMENT", { name: "vectors", reason: `'${path}' does not exist` });
  const buf = readFileSync(path);
  const m = extname(path).toLowerCase() === ".npy" ? parseNpy(buf, path) : parseF32(buf, f.dim ?? NaN, path);
  if (f.dim !== undefined && m.dim !== f.dim) throw new ClipdbError("DIM_MISMATCH", { expected: f.dim, got: m.dim, where: path });
  return {
    vectors: m.data,
    dim: m.dim,
    ids: lines(f.ids, "ids").map((l) => l.line),
    modality: f.modality,
    pairIds: f.pairIds ? lines(f.pairIds, "pair-ids").map((l) => l.line) : undefined,
    modelId: f.modelId,
  };
}

/** The one-line human summary of an ingest, plus per-file errors. */
export function formatSummary(s: AddSummary & { pruned?: number }): string {
  const head = `added ${s.added}, skipped ${s.skipped}, failed ${s.failed}${s.pruned ? `, pruned ${s.pruned}` : ""}`;
  const dupes = (s.duplicates ?? []).map((d) => `  ${d.path}: near-duplicate of '${d.of}' (score ${d.score.toFixed(4)}), skipped`);
  return [head, ...dupes, ...s.errors.map((e) => `  ${e.path}: ${e.code}: ${e.message}`)].join("\n");
}
