/** The `adapt` search option over HTTP, on the real CIFAR-10 vectors with a stored i2t adapter. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { loadCifar } from "../fixtures/cifar.js";

const cifar = loadCifar();
let tmp: string;
let col: Collection;
let app: FastifyInstance;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-adapt-http-"));
  col = await Collection.open(path.join(tmp, "db"));
  const dim = cifar.vision.dim;
  await col.addVectors({ vectors: cifar.vision.data, dim, ids: cifar.ids, modality: "image" });
  const first = cifar.classes.map((_, c) => cifar.ids[cifar.labels.indexOf(c)]);
  await col.addVectors({ vectors: cifar.classRows, dim, ids: cifar.classes, modality: "text", pairIds: first });
  await col.addPairs(cifar.ids.map((id, i) => ({ imageId: id, textId: cifar.classes[cifar.labels[i]] })).filter((p) => !first.includes(p.imageId)));
  const r = await col.adapt({ directions: ["i2t"] });
  expect(r.stored).toEqual(["i2t"]);
  app = await buildServer(col, { webRoot: false });
}, 300_000);
afterAll(async () => {
  await app?.close();
  await col?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("POST /api/v1/search adapt", () => {
  const search = (body: object) => app.inject({ method: "POST", url: "/api/v1/search", payload: body });
  it("applies the stored adapter by default, not with adapt: false, and refuses a non-boolean", async () => {
    const on = await search({ item: cifar.ids[0], modality: "text", k: 1 });
    expect(on.statusCode, on.body).toBe(200);
    expect(on.json().adapted).toBe("i2t");
    const off = await search({ item: cifar.ids[0], modality: "text", k: 1, adapt: false });
    expect(off.statusCode).toBe(200);
    expect(off.json().adapted).toBeUndefined();
    expect(off.json().results[0].score).not.toBe(on.json().results[0].score);
    const bad = await search({ item: cifar.ids[0], adapt: "maybe" });
    expect(bad.statusCode).toBe(400);
  });
});
