/**
 * Upload-burst benchmark: starts `clipdb serve` as a child process over a small collection (the
 * generated test model and 3 COCO images), then sends N concurrent uploads of one S MB noise PNG
 * to POST /api/v1/search/image and prints the server's RSS before, during (peak) and after the
 * burst (at several delays), the answers by status, and /health latency during the burst.
 *
 * Usage: tsx bench/upload-burst.ts [--n 100] [--mb 19] [--settle 20] [--route search|items]
 *        [--model .cache/test-model] [--source] [-- extra serve flags, e.g. --max-uploads 8]
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { Collection } from "../src/collection/index.js";
import { ensureClipModel } from "../scripts/lib/make-model.js";
import { cocoImages } from "../test/server/helpers.js";
import { rssOf, startServe, upload } from "../test/server/http-client.js";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    n: { type: "string", default: "100" },
    mb: { type: "string", default: "19" },
    settle: { type: "string", default: "20" },
    route: { type: "string", default: "search" },
    model: { type: "string", default: ".cache/test-model" },
    source: { type: "boolean", default: false },
  },
});
const n = Number(a.n);
const mb = Number(a.mb);
const MB = 1024 * 1024;
const fmt = (b: number) => `${(b / MB).toFixed(0)} MB`;

const modelDir = path.resolve(a.model);
if (a.model === ".cache/test-model") ensureClipModel(modelDir);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-burst-"));
const db = path.join(tmp, "db");
const col = await Collection.open(db, { model: modelDir, offline: true });
await col.addImages(cocoImages(3).map((c) => ({ path: c.file })));
await col.close();

// A noise PNG of about `mb` MB (noise does not compress): side × side × 3 bytes.
const side = Math.round(Math.sqrt((mb * MB) / 3));
const png = await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
  .png({ compressionLevel: 0 })
  .toBuffer();

const srv = await startServe(["--db", db, "--create", "--model", modelDir, "--offline", ...positionals], { preferSource: a.source });
const pid = srv.child.pid!;
try {
  // Warm up: one upload, so the model is loaded and the code paths are compiled before "before".
  const route = a.route === "items" ? "/api/v1/items" : "/api/v1/search/image";
  const field = a.route === "items" ? "image" : "file";
  await upload(srv.base + route, png, { field });
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssOf(pid);

  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 25);
  const health: number[] = [];
  let bursting = true;
  const healthLoop = (async () => {
    while (bursting) {
      const t = performance.now();
      await fetch(`${srv.base}/api/v1/health`).then((r) => r.arrayBuffer()).catch(() => undefined);
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: n }, () => upload(srv.base + route, png, { field })));
  const wall = performance.now() - t0;
  bursting = false;
  await healthLoop;
  clearInterval(sampler);

  const after: [number, number][] = [[0, rssOf(pid)]];
  const settle = Number(a.settle);
  for (const s of [2, 5, 10, 20, 60].filter((x) => x <= settle)) {
    await new Promise((r) => setTimeout(r, (s - after[after.length - 1][0]) * 1000));
    after.push([s, rssOf(pid)]);
  }

  const byStatus = new Map<number, number>();
  for (const x of answers) byStatus.set(x.status, (byStatus.get(x.status) ?? 0) + 1);
  const retry = answers.find((x) => x.status === 503)?.headers["retry-after"];
  health.sort((x, y) => x - y);
  console.log(`upload burst: ${n} concurrent uploads of ${fmt(png.length)} (${png.length} bytes) to ${route}; serve flags: ${positionals.join(" ") || "(defaults)"}`);
  console.log(`  answers: ${[...byStatus].map(([s, c]) => `${c} × ${s || "cut"}`).join(", ")}${retry ? ` (Retry-After: ${retry})` : ""}; burst wall time ${(wall / 1000).toFixed(1)} s`);
  console.log(`  server RSS: before ${fmt(before)}, peak during ${fmt(peak)}, after: ${after.map(([s, r]) => `+${s}s ${fmt(r)}`).join(", ")}`);
  if (health.length) console.log(`  GET /health during the burst: ${health.length} calls, p50 ${health[Math.floor(health.length / 2)].toFixed(0)} ms, max ${health[health.length - 1].toFixed(0)} ms`);
} finally {
  await srv.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
