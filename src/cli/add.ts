import { readFileSync, existsSync } from "node:fs";
import { extname, resolve, sep } from "node:path";
import { ClipdbError } from "../core/errors.js";
import { parseF32, parseNpy } from "../core/npy.js";
import { ownCaptions, type Collection } from "../collection/index.js";
import type { AddSummary, ImageInput, TextInput } from "../collection/index.js";
import { readCaptions } from "./captions.js";
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
}

function lines(path: string, what: string): string[] {
  if (!existsSync(path)) throw new ClipdbError("INVALID_ARGUMENT", { name: what, reason: `'${path}' does not exist` });
  return readFileSync(path, "utf8").split(/\r?\n/).filter((l) => l.length > 0);
}

/** Reads a texts file: one text per line, or JSONL objects {"id","text",...metadata}. */
export function readTexts(path: string): TextInput[] {
  return lines(path, "texts").map((line, i) => {
    if (!line.trimStart().startsWith("{")) return { text: line };
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "texts", reason: `line ${i + 1} is not valid JSON` });
    }
    const { id, text, ...meta } = o;
    if (typeof text !== "string") throw new ClipdbError("INVALID_ARGUMENT", { name: "texts", reason: `line ${i + 1} has no "text" string` });
    return { id: id === undefined ? undefined : String(id), text, meta };
  });
}

/** Runs `clipdb add`; returns the summary and the exit code (2 when some files failed). */
export async function runAdd(col: Collection, paths: string[], f: AddFlags, signal: AbortSignal): Promise<{ summary: AddSummary; code: number }> {
  const bar = progressBar("adding", !f.json);
  const onProgress = (d: number, t: number) => bar.update(d, t);
  let summary: AddSummary;
  try {
    if (f.vectors) summary = await col.addVectors(readVectors(f));
    else if (f.texts) summary = await col.addTexts(readTexts(f.texts), { onProgress, signal, batchSize: f.batchSize });
    else {
      if (!paths.length) throw new ClipdbError("INVALID_ARGUMENT", { name: "paths", reason: "no files or folders given", hint: "Usage: clipdb add <files|folders...> (or --texts, --vectors)." });
      const found = findImages(paths);
      const caps = f.captions ? readCaptions(f.captions) : undefined;
      const inputs: ImageInput[] = found.map((img) => ({
        path: img.path,
        id: img.id,
        captions: caps?.get(img.path.split(sep).pop()!) ?? img.sidecar,
      }));
      summary = await col.addImages(inputs, { onProgress, signal, batchSize: f.batchSize });
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
  const gone = col.sources().filter((s) => roots.some((r) => s.source === r || s.source.startsWith(r + sep)) && !existsSync(s.source));
  const ids = gone.flatMap((s) => [s.id, ...ownCaptions(s.id, col.get(s.id)?.pairs ?? [])]);
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
    ids: lines(f.ids, "ids"),
    modality: f.modality,
    pairIds: f.pairIds ? lines(f.pairIds, "pair-ids") : undefined,
    modelId: f.modelId,
  };
}

/** The one-line human summary of an ingest, plus per-file errors. */
export function formatSummary(s: AddSummary & { pruned?: number }): string {
  const head = `added ${s.added}, skipped ${s.skipped}, failed ${s.failed}${s.pruned ? `, pruned ${s.pruned}` : ""}`;
  return [head, ...s.errors.map((e) => `  ${e.path}: ${e.code}: ${e.message}`)].join("\n");
}
