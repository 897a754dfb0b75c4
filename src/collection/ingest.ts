import { readFile, stat } from "node:fs/promises";
import { mkdirSync, writeFileSync, renameSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ClipdbError, isClipdbError } from "../core/errors.js";
import { testPoint } from "../core/testpoint.js";
import { tempPathFor } from "../index/index.js";
import type { Embedder } from "../embed/index.js";
import type { CollectionStore, NewItem, StoreReader } from "../store/index.js";
import { PHASH_KEY, capturedMeta } from "./capture.js";
import { DupeChecker } from "./dupes.js";
import { contentHash, sniffImage } from "./files.js";
import type { AddError, AddOptions, AddSummary, ImageInput, TextInput } from "./types.js";

/** Default items embedded and committed per transaction (the embedder runs them through the model in inference batches of its own DEFAULT_BATCH_SIZE, 16). */
export const DEFAULT_INGEST_BATCH = 32;

/** An image read from disk or an upload, ready to embed. */
interface Prepared {
  input: ImageInput;
  id: string;
  bytes: Buffer;
  hash: string;
  label: string;
  /** The user's metadata over what was captured of the image (capture.ts). */
  meta: Record<string, unknown>;
}

function emptySummary(): AddSummary {
  return { added: 0, skipped: 0, failed: 0, errors: [], ids: [], skippedIds: [] };
}

function errorOf(label: string, e: unknown): AddError {
  if (isClipdbError(e)) {
    // The error rides along for callers (the HTTP API answers with it), unseen by JSON output.
    const out: AddError = { path: label, code: e.code, message: e.message };
    Object.defineProperty(out, "error", { value: e, enumerable: false });
    return out;
  }
  return { path: label, code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
}

/** Ids of the caption items of an image: `<image id>#<n>`. */
export function captionId(imageId: string, n: number): string {
  return `${imageId}#${n}`;
}

/** The caption items an image owns, among the ids paired with it (other paired texts are left out). */
export function ownCaptions(imageId: string, paired: string[]): string[] {
  return paired.filter((t) => t.startsWith(`${imageId}#`));
}

/**
 * Ingests images (and their captions as paired text items) in batches: each batch is embedded,
 * then committed in one transaction (indexes pick the commit up from the store's change log). A file whose content hash
 * matches the stored item of the same id is skipped; a changed file replaces its item and captions.
 * A file that cannot be read or decoded is reported in `errors` and the batch goes on.
 */
export async function addImages(
  store: CollectionStore,
  embedder: () => Promise<Embedder>,
  uploads: UploadSink,
  inputs: ImageInput[],
  opts: AddOptions = {},
): Promise<AddSummary> {
  const sum = emptySummary();
  const batch = Math.max(1, opts.batchSize ?? DEFAULT_INGEST_BATCH);
  const dupes = opts.skipDuplicates ? new DupeChecker(store, opts.skipDuplicates === true ? {} : opts.skipDuplicates) : undefined;
  if (dupes) sum.duplicates = [];
  for (let start = 0; start < inputs.length; start += batch) {
    if (opts.signal?.aborted) break;
    const ready: Prepared[] = [];
    for (const input of inputs.slice(start, start + batch)) {
      const label = input.path ?? input.name ?? input.id ?? "(upload)";
      try {
        const p = await prepare(store, input, label);
        if ("skip" in p) {
          sum.skipped++;
          sum.skippedIds.push(p.skip);
        } else ready.push(p);
      } catch (e) {
        sum.failed++;
        sum.errors.push(errorOf(label, e));
      }
    }
    if (ready.length) await commitImages(store, await embedder(), uploads, ready, sum, dupes);
    opts.onProgress?.(Math.min(start + batch, inputs.length), inputs.length);
  }
  return sum;
}

async function prepare(store: CollectionStore, input: ImageInput, label: string): Promise<Prepared | { skip: string }> {
  let bytes: Buffer;
  let file: { size: number; mtime: Date } | undefined;
  if (input.data) bytes = input.data;
  else if (input.path) {
    const st = await stat(input.path).catch((e: NodeJS.ErrnoException) => {
      const reason = e.code === "ENOENT" ? "file not found" : e.code === "ELOOP" ? "a loop of symbolic links" : String(e);
      throw new ClipdbError("IMAGE_DECODE", { file: label, reason }, { cause: e });
    });
    // A FIFO, socket or device would block or never end: refuse it without opening it.
    if (!st.isFile()) throw new ClipdbError("IMAGE_DECODE", { file: label, reason: "it is not a regular file (a folder, FIFO, socket or device); it was skipped without being read" });
    file = st;
    try {
      bytes = await readFile(input.path);
    } catch (e) {
      throw new ClipdbError("IMAGE_DECODE", { file: label, reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(e) }, { cause: e });
    }
  } else throw new ClipdbError("INVALID_ARGUMENT", { name: "image", reason: "give a path or bytes" });
  const hash = contentHash(bytes);
  const id = input.id ?? input.path ?? `image:${hash.slice(0, 16)}`;
  const existing = await store.get(id);
  if (existing && existing.hash === hash) return { skip: id };
  if (existing && existing.modality !== "image") throw new ClipdbError("DUPLICATE_ID", { id });
  return { input, id, bytes, hash, label, meta: await capturedMeta(bytes, input.meta, file) };
}

async function commitImages(store: CollectionStore, emb: Embedder, uploads: UploadSink, ready: Prepared[], sum: AddSummary, dupes?: DupeChecker): Promise<void> {
  const { vectors, errors } = await emb.embedImagesSettled(ready.map((r) => r.bytes));
  const dim0 = emb.dim;
  const ok: Prepared[] = [];
  for (const [i, r] of ready.entries()) {
    if (errors[i]) {
      sum.failed++;
      sum.errors.push(errorOf(r.label, errors[i]));
      continue;
    }
    if (dupes) {
      const v = vectors.subarray(i * dim0, (i + 1) * dim0);
      const phash = typeof r.meta[PHASH_KEY] === "string" ? (r.meta[PHASH_KEY] as string) : undefined;
      const m = await dupes.match(phash, v, r.id);
      if (m) {
        sum.skipped++;
        sum.duplicates!.push({ path: r.label, id: r.id, of: m.id, score: m.score });
        continue;
      }
      dupes.accept(r.id, phash, v);
    }
    ok.push(r);
  }
  const captions = ok.flatMap((r) => (r.input.captions ?? []).map((text, n) => ({ r, text, n })));
  const textVecs = captions.length ? await emb.embedTexts(captions.map((c) => c.text)) : new Float32Array(0);
  const dim = emb.dim;
  // Uploaded bytes are kept where the collection keeps files (its folder, or its store) first.
  const sources = new Map<Prepared, string>();
  for (const r of ok) sources.set(r, r.input.path ?? (await uploads(r.hash, r.bytes, sniffImage(r.bytes)?.ext ?? ".bin")));
  // One group per image: its item and caption items, with the rows of their vectors.
  const groups = ok.map((r) => {
    const row = ready.indexOf(r);
    const items: NewItem[] = [{ id: r.id, modality: "image", source: sources.get(r)!, text: null, meta: r.meta, hash: r.hash }];
    const rows: Float32Array[] = [vectors.subarray(row * dim, (row + 1) * dim)];
    const pairs: { imageId: string; textId: string }[] = [];
    captions.forEach((c, i) => {
      if (c.r !== r) return;
      const id = captionId(r.id, c.n);
      items.push({ id, modality: "text", source: null, text: c.text, meta: {}, hash: contentHash(c.text) });
      rows.push(textVecs.subarray(i * dim, (i + 1) * dim));
      pairs.push({ imageId: r.id, textId: id });
    });
    return { r, items, rows, pairs };
  });
  if (groups.length === 0) return;
  await store.setModel(emb.modelId, dim);
  testPoint("add:embedded");
  const fresh = await store.transaction(async (tx) => {
    // Checked again inside the write transaction: another writer (the same file uploaded at the
    // same time) may have stored it since prepare() looked. The same content is then a skip.
    const now = new Map<string, string | null | undefined>();
    for (const g of groups) {
      const cur = await tx.get(g.r.id);
      now.set(g.r.id, cur === undefined ? undefined : cur.hash);
    }
    const keep = groups.filter((g) => now.get(g.r.id) !== g.r.hash);
    const replaced = keep.filter((g) => now.get(g.r.id) !== undefined).map((g) => g.r.id);
    if (replaced.length) await tx.remove(await withOwnCaptions(tx, replaced));
    const items = keep.flatMap((g) => g.items);
    const xs = new Float32Array(items.length * dim);
    keep.flatMap((g) => g.rows).forEach((v, i) => xs.set(v, i * dim));
    await tx.addItems(items, xs, keep.flatMap((g) => g.pairs));
    return keep;
  });
  testPoint("add:batch");
  sum.added += fresh.length;
  sum.ids.push(...fresh.map((g) => g.r.id));
  for (const g of groups) {
    if (fresh.includes(g)) continue;
    sum.skipped++;
    sum.skippedIds.push(g.r.id);
  }
}

/**
 * `ids` plus the caption items (`<id>#<n>`) that each image among them owns; other texts paired
 * with an image (added on their own) are not included.
 */
export async function withOwnCaptions(store: StoreReader, ids: string[]): Promise<string[]> {
  const out = new Set(ids);
  for (const id of ids) {
    if ((await store.get(id))?.modality !== "image") continue;
    for (const c of ownCaptions(id, await store.pairedIds(id))) out.add(c);
  }
  return [...out];
}

/**
 * Keeps the bytes of an uploaded image (`hash` is their content hash, `ext` a file extension such
 * as ".jpg") and returns the source to record for it: a file path, or a store blob reference.
 */
export type UploadSink = (hash: string, bytes: Buffer, ext: string) => Promise<string>;

/** An UploadSink writing into a folder, named by content hash, atomically (the SQLite collection's `files/`). */
export function folderUploads(filesDir: string): UploadSink {
  return async (hash, bytes, ext) => {
    mkdirSync(filesDir, { recursive: true });
    const path = join(filesDir, hash + ext);
    if (!existsSync(path)) {
      // A temp name per writer: another process storing the same upload cannot rename ours away.
      const tmp = tempPathFor(path);
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    }
    return path;
  };
}

/**
 * Ingests texts in batches. A text whose id exists with the same content is skipped; the same id
 * with other content is refused with DUPLICATE_ID (remove it first).
 */
export async function addTexts(store: CollectionStore, embedder: () => Promise<Embedder>, inputs: TextInput[], opts: AddOptions = {}): Promise<AddSummary> {
  const sum = emptySummary();
  const batch = Math.max(1, opts.batchSize ?? DEFAULT_INGEST_BATCH * 4);
  for (let start = 0; start < inputs.length; start += batch) {
    if (opts.signal?.aborted) break;
    const fresh: (TextInput & { id: string; hash: string })[] = [];
    for (const t of inputs.slice(start, start + batch)) {
      if (typeof t.text !== "string" || t.text.trim() === "") {
        sum.failed++;
        sum.errors.push({ path: t.id ?? "(text)", code: "INVALID_ARGUMENT", message: "Empty text; every text item needs some text." });
        continue;
      }
      const hash = contentHash(t.text);
      const id = t.id ?? `text:${hash.slice(0, 16)}`;
      const existing = (await store.get(id)) ?? fresh.find((f) => f.id === id);
      if (existing && existing.hash === hash) {
        sum.skipped++;
        sum.skippedIds.push(id);
        continue;
      }
      if (existing) {
        sum.failed++;
        sum.errors.push(errorOf(id, new ClipdbError("DUPLICATE_ID", { id })));
        continue;
      }
      fresh.push({ ...t, id, hash });
    }
    if (fresh.length) {
      const emb = await embedder();
      const xs = await emb.embedTexts(fresh.map((t) => t.text));
      await store.setModel(emb.modelId, emb.dim);
      const dim = emb.dim;
      const kept = await store.transaction(async (tx) => {
        // As for images: a concurrent writer may have stored the same text meanwhile (a skip).
        const keep: (readonly [(typeof fresh)[number], number])[] = [];
        for (const [i, t] of fresh.entries()) if ((await tx.get(t.id))?.hash !== t.hash) keep.push([t, i]);
        const rows = new Float32Array(keep.length * dim);
        keep.forEach(([, i], j) => rows.set(xs.subarray(i * dim, (i + 1) * dim), j * dim));
        await tx.addItems(
          keep.map(([t]) => ({ id: t.id, modality: "text", source: null, text: t.text, meta: t.meta ?? {}, hash: t.hash })),
          rows,
        );
        return keep.map(([t]) => t);
      });
      testPoint("add:batch");
      sum.added += kept.length;
      sum.ids.push(...kept.map((t) => t.id));
      for (const t of fresh) {
        if (kept.includes(t)) continue;
        sum.skipped++;
        sum.skippedIds.push(t.id);
      }
    }
    opts.onProgress?.(Math.min(start + batch, inputs.length), inputs.length);
  }
  return sum;
}
