/**
 * `clipdb get <id>` (an item with its metadata) and `clipdb dupes` (groups of near-duplicate
 * images, issue 12).
 */
import type { Command } from "commander";
import { ClipdbError } from "../core/errors.js";
import { DEFAULT_DUPE_THRESHOLD, DEFAULT_HASH_DISTANCE, type DupeReport, type ItemView } from "../collection/index.js";
import { common, print, withCollection } from "./common.js";
import { EXIT, clip, table } from "./output.js";

/** The `dupes --json` shape: `{"groups": [{"ids": [...], "score": 0.99}], "images": n, "unhashed": [...]}`. */
export function dupesJson(r: DupeReport): object {
  return { groups: r.groups, images: r.images, unhashed: r.unhashed };
}

/** The human listing of duplicate groups. */
export function dupesText(r: DupeReport): string {
  const lines = r.groups.map((g, i) => `group ${i + 1} (score ${g.score.toFixed(4)}): ${g.ids.join("  ")}`);
  const tail = `${r.groups.length} group${r.groups.length === 1 ? "" : "s"} of near-duplicates among ${r.images} images`;
  const unhashed = r.unhashed.length ? `\n${r.unhashed.length} images could not be compared (no perceptual hash, and their files are gone)` : "";
  return [...lines, tail].join("\n") + unhashed;
}

/** The human view of one item: its fields and its metadata, one per line. */
export function itemText(v: ItemView): string {
  const rows: (string | number)[][] = [
    ["id", v.id],
    ["modality", v.modality],
    ["path", v.path ?? "-"],
  ];
  if (v.text !== null) rows.push(["text", clip(v.text, 100)]);
  rows.push(["hash", v.hash ?? "-"], ["added", v.createdAt], ["pairs", v.pairs.join(", ") || "-"]);
  for (const [k, val] of Object.entries(v.meta)) rows.push([`meta.${k}`, typeof val === "string" ? val : JSON.stringify(val)]);
  return table(["field", "value"], rows);
}

function threshold(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < -1 || n > 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "threshold", reason: `expected a cosine from -1 to 1, got '${v}'` });
  return n;
}

function distance(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new ClipdbError("INVALID_ARGUMENT", { name: "max-distance", reason: `expected an integer from 0 to 64, got '${v}'` });
  return n;
}

/** Registers `get` and `dupes`. */
export function registerItems(program: Command): void {
  common(program.command("get").argument("<id>", "item id"))
    .description("show one item: its source or text, pairs and metadata (date taken, camera, size, ...)")
    .action(async (id: string, f) => {
      await withCollection(f, false, async (col) => {
        const v = await col.get(id);
        if (!v) throw new ClipdbError("NOT_FOUND", { id });
        const dupes = v.modality === "image" ? await col.duplicatesOf(id) : [];
        print(f, { ...v, duplicates: dupes }, () => itemText(v) + (dupes.length ? `\nnear-duplicates: ${dupes.map((d) => `${d.id} (${d.score.toFixed(4)})`).join(", ")}` : ""));
        return EXIT.ok;
      });
    });

  common(program.command("dupes"))
    .description("list groups of near-duplicate images (re-encodes, resizes, small crops, rotated copies)")
    .option("--threshold <cosine>", `least embedding cosine of a pair (default ${DEFAULT_DUPE_THRESHOLD}); higher is stricter`, threshold)
    .option("--max-distance <bits>", `most differing perceptual-hash bits of 64 (default ${DEFAULT_HASH_DISTANCE}); lower is stricter`, distance)
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        const r = await col.duplicates({ threshold: f.threshold, maxDistance: f.maxDistance });
        print(f, dupesJson(r), () => dupesText(r));
      });
    });
}
