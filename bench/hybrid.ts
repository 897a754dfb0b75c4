/**
 * Hybrid search benchmark (issue 12): for queries that quote a rare word of one caption, how
 * often is that caption in the top 10 with vector search alone, with keyword search, and with
 * hybrid (both fused by reciprocal rank)?
 *
 * Sets (../shared/data): the Flickr8k test captions (5,000) and the COCO sample captions (1,040),
 * each added as text items to a fresh collection embedded with a generated model (random
 * weights: no pretrained weights can be downloaded here, so the vector side is what such a model
 * gives, and a real CLIP would do better on it; the keyword side does not depend on the model).
 *
 * Queries: each caption holding a word of 5+ letters that occurs in no other caption of its set
 * (lower-cased; not a stopword) gives two queries, up to --queries per set (seeded sample):
 * - "word": the rare word alone;
 * - "quote": three consecutive words of the caption around it, as a user quotes a half-remembered caption.
 * Hit@10: the caption is among the top 10 text hits.
 *
 * Usage: npx tsx bench/hybrid.ts [--model .cache/test-model] [--queries 200] [--json out.json]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Collection, type SearchMode } from "../src/collection/index.js";
import { quantile } from "./lib/stats.js";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: ".cache/test-model" },
    queries: { type: "string", default: "200" },
    json: { type: "string" },
  },
});
const DATA = path.resolve("../shared/data");
const MAX_Q = Number(args.queries);
const STOP = new Set("there their these those where which while with without about above after again against below between during through under other people person".split(" "));

function flickr8k(): string[] {
  return fs
    .readFileSync(path.join(DATA, "flickr8k-test/captions.tsv"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t")[2]);
}
function coco(): string[] {
  const j = JSON.parse(fs.readFileSync(path.join(DATA, "coco-val2017-sample/captions.json"), "utf8")) as { annotations: { caption: string }[] };
  return j.annotations.map((a) => a.caption.trim());
}

/** A seeded shuffle (mulberry32), so every run asks the same queries. */
function shuffled<T>(xs: T[], seed = 7): T[] {
  let a = seed;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

interface Query {
  kind: "word" | "quote";
  text: string;
  target: number;
}

function queriesOf(caps: string[]): Query[] {
  const words = caps.map((c): string[] => c.toLowerCase().match(/[a-z]+/g) ?? []);
  const df = new Map<string, number>();
  for (const ws of words) for (const w of new Set(ws)) df.set(w, (df.get(w) ?? 0) + 1);
  const picks: { target: number; word: string }[] = [];
  words.forEach((ws, i) => {
    const rare = ws.find((w) => w.length >= 5 && df.get(w) === 1 && !STOP.has(w));
    if (rare) picks.push({ target: i, word: rare });
  });
  const out: Query[] = [];
  for (const p of shuffled(picks).slice(0, MAX_Q)) {
    const ws = words[p.target];
    const at = ws.indexOf(p.word);
    const lo = Math.max(0, Math.min(at - 1, ws.length - 3));
    out.push({ kind: "word", text: p.word, target: p.target });
    out.push({ kind: "quote", text: ws.slice(lo, lo + 3).join(" "), target: p.target });
  }
  return out;
}

interface Row {
  set: string;
  query: "word" | "quote";
  queries: number;
  vector: number;
  keyword: number;
  hybrid: number;
  vector_p50_ms: number;
  hybrid_p50_ms: number;
}

async function bench(set: string, caps: string[]): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `clipdb-hybrid-${set}-`));
  try {
    const col = await Collection.open(dir, { model: path.resolve(args.model!), offline: true });
    const t0 = performance.now();
    await col.addTexts(caps.map((text, i) => ({ id: `c${i}`, text })), { batchSize: 256 });
    console.error(`${set}: ${caps.length} captions embedded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const qs = queriesOf(caps);
    const rows: Row[] = [];
    for (const kind of ["word", "quote"] as const) {
      const mine = qs.filter((q) => q.kind === kind);
      const hits: Record<SearchMode, number> = { vector: 0, keyword: 0, hybrid: 0 };
      const ms: Record<SearchMode, number[]> = { vector: [], keyword: [], hybrid: [] };
      for (const q of mine) {
        for (const mode of ["vector", "keyword", "hybrid"] as const) {
          const r = await col.search({ text: q.text }, { mode, k: 10, modality: "text", index: "exact" });
          ms[mode].push(r.ms);
          if (r.results.some((h) => h.id === `c${q.target}`)) hits[mode]++;
        }
      }
      const rate = (n: number): number => Number((n / mine.length).toFixed(3));
      rows.push({
        set, query: kind, queries: mine.length,
        vector: rate(hits.vector), keyword: rate(hits.keyword), hybrid: rate(hits.hybrid),
        vector_p50_ms: Number(quantile(ms.vector, 0.5).toFixed(2)), hybrid_p50_ms: Number(quantile(ms.hybrid, 0.5).toFixed(2)),
      });
    }
    await col.close();
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [...(await bench("flickr8k", flickr8k())), ...(await bench("coco", coco()))];
const model = path.basename(path.resolve(args.model!));
console.log(`model: ${model} (generated, random weights); hit@10 of the one caption holding the rare word\n`);
console.log("| set | query | queries | vector | keyword | hybrid | vector p50 ms | hybrid p50 ms |");
console.log("|---|---|--:|--:|--:|--:|--:|--:|");
for (const r of rows) console.log(`| ${r.set} | ${r.query} | ${r.queries} | ${r.vector.toFixed(3)} | ${r.keyword.toFixed(3)} | ${r.hybrid.toFixed(3)} | ${r.vector_p50_ms} | ${r.hybrid_p50_ms} |`);
if (args.json) fs.writeFileSync(args.json, JSON.stringify({ model, date: new Date().toISOString(), rows }, null, 2));
