/**
 * Near-duplicate precision and recall (issue 12) on a labelled set built from ../shared/data into a
 * temporary folder (test/fixtures/dupes-set.ts): COCO and Flickr8k originals, five transformed
 * copies of some (JPEG q40–95, 50% resize, 5% crop, EXIF orientation 6, PNG), and the Flickr8k
 * pairs most alike by real CLIP vectors as hard negatives. Pairs are scored: a predicted pair is
 * right when both files come from one original. The rule (perceptual hash within maxDistance bits
 * AND embedding cosine ≥ threshold) is compared with each half alone, at the defaults and around them.
 *
 * Usage: npm run bench:dupes [-- --model .cache/test-model] [--coco 40] [--flickr 40] [--hard 10] [--transformed 20]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Collection, DEFAULT_DUPE_THRESHOLD, DEFAULT_HASH_DISTANCE } from "../src/collection/index.js";
import { hammingHex } from "../src/embed/index.js";
import { makeDupeSet, scoreGroups, similarFlickrPairs } from "../test/fixtures/dupes-set.js";

const { values: a } = parseArgs({
  options: {
    model: { type: "string", default: ".cache/test-model" },
    coco: { type: "string", default: "40" },
    flickr: { type: "string", default: "40" },
    hard: { type: "string", default: "10" },
    transformed: { type: "string", default: "20" },
  },
});
const tmp = mkdtempSync(join(tmpdir(), "clipdb-bench-dupes-"));
try {
  const files = await makeDupeSet({ dir: join(tmp, "set"), coco: Number(a.coco), flickr: Number(a.flickr), hardPairs: Number(a.hard), transformed: Number(a.transformed) });
  const col = await Collection.open(join(tmp, "db"), { model: a.model, create: true });
  const sum = await col.addImages(files.map((f) => ({ path: f.path, id: f.id })));
  if (sum.failed) throw new Error(JSON.stringify(sum.errors));
  const originals = files.filter((f) => f.kind === "original").length;
  console.log(`set: ${files.length} images (${originals} originals, ${files.length - originals} copies, ${Number(a.hard)} hard-negative pairs); model ${a.model}`);

  // Hash distances: copies to their original, by kind; and the closest distinct pair.
  const hash = new Map<string, string>();
  for (const f of files) hash.set(f.id, (await col.get(f.id))!.meta.phash as string);
  const byKind = new Map<string, number[]>();
  for (const f of files) if (f.kind !== "original") byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), hammingHex(hash.get(f.id)!, hash.get(f.group)!)]);
  const distinct: number[] = [];
  const origs = files.filter((f) => f.kind === "original");
  for (let i = 0; i < origs.length; i++) for (let j = i + 1; j < origs.length; j++) distinct.push(hammingHex(hash.get(origs[i].id)!, hash.get(origs[j].id)!));
  distinct.sort((x, y) => x - y);
  console.log("\nhash bits differing (of 64): copy vs its original, max (median) per kind; distinct originals: min, 1st percentile");
  for (const [k, ds] of byKind) console.log(`  ${k.padEnd(9)} ${Math.max(...ds)} (${ds.sort((x, y) => x - y)[ds.length >> 1]})`);
  console.log(`  distinct  min ${distinct[0]}, p1 ${distinct[Math.floor(distinct.length / 100)]} (over ${distinct.length} pairs)`);
  const hard = similarFlickrPairs(Number(a.hard));
  const hd = hard.map(([x, y]) => hammingHex(hash.get(`flickr/${x}`)!, hash.get(`flickr/${y}`)!));
  console.log(`  hard negatives: real CLIP ViT-B/32 cosine ${hard.at(-1)![2].toFixed(3)}..${hard[0][2].toFixed(3)}, hash bits ${Math.min(...hd)}..${Math.max(...hd)}`);

  const rows: string[] = [];
  const run = async (label: string, threshold: number, maxDistance: number) => {
    const r = await col.duplicates({ threshold, maxDistance });
    const s = scoreGroups(files, r.groups);
    rows.push(`| ${label} | ${threshold} | ${maxDistance} | ${s.predictedPairs} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} |`);
    return s;
  };
  const def = await run("**default** (hash and embedding)", DEFAULT_DUPE_THRESHOLD, DEFAULT_HASH_DISTANCE);
  for (const d of [6, 8, 12, 14, 16]) await run("hash and embedding", DEFAULT_DUPE_THRESHOLD, d);
  await run("hash and embedding", 0.95, DEFAULT_HASH_DISTANCE);
  await run("hash alone", -1, DEFAULT_HASH_DISTANCE);
  for (const t of [0.9, 0.95, 0.98, 0.99]) await run("embedding alone", t, 64);
  console.log(`\ntrue pairs: ${def.truePairs}\n\n| rule | threshold (cosine) | maxDistance (bits) | pairs flagged | precision | recall |\n|---|---:|---:|---:|---:|---:|\n${rows.join("\n")}`);
  if (def.falsePairs.length) console.log(`\nfalse pairs at the default: ${def.falsePairs.map((p) => p.join(" ~ ")).join(", ")}`);
  await col.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
