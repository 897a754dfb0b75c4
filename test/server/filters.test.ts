/**
 * Typed metadata filters and sort over HTTP (issue 12): the JSON forms of `where` (object,
 * conditions, expressions) on POST /search and as a multipart field, `sort`, validation errors,
 * the hint for an unknown key, and the OpenAPI document describing them.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages, multipart } from "./helpers.js";

let tmp: string;
let col: Collection;
let app: FastifyInstance;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-http-filters-"));
  mkdirSync(path.join(tmp, "src"));
  col = await Collection.open(path.join(tmp, "db"), { model: testModelDir(), create: true });
  const imgs = cocoImages(4);
  const years = ["2018-06-01T10:00:00", "2020-03-04T05:06:07", "2022-12-31T23:00:00", undefined];
  await col.addImages(
    imgs.map((img, i) => {
      const file = path.join(tmp, "src", img.name);
      copyFileSync(img.file, file);
      return { path: file, id: `p${i}`, meta: { ...(years[i] ? { taken: years[i] } : {}), camera: i % 2 ? "Canon" : "Nikon" } };
    }),
  );
  app = await buildServer(col, { webRoot: false });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await col?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const search = (body: object) => app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a photo", modality: "image", ...body } });

describe("HTTP where and sort", () => {
  it("takes conditions, expressions and the object form", async () => {
    const ids = async (body: object) => (await search(body)).json().results.map((r: { id: string }) => r.id).sort();
    expect(await ids({ where: [{ key: "taken", op: ">=", value: "2020-01-01" }] })).toEqual(["p1", "p2"]);
    expect(await ids({ where: ["taken<2020-03-04", "camera in (Nikon, Leica)"] })).toEqual(["p0"]);
    expect(await ids({ where: { camera: "Canon" } })).toEqual(["p1", "p3"]);
    expect(await ids({ where: [{ key: "camera", op: "in", value: ["Canon", "Nikon"] }, { key: "taken", op: "exists" }] })).toEqual(["p0", "p1", "p2"]);
  });

  it("sorts the top k by date taken, undated last", async () => {
    const order = async (sort: string) => (await search({ sort })).json().results.map((r: { id: string }) => r.id);
    expect(await order("taken")).toEqual(["p0", "p1", "p2", "p3"]);
    expect(await order("-taken")).toEqual(["p2", "p1", "p0", "p3"]);
    const bad = await search({ sort: "date" });
    expect(bad.statusCode).toBe(400);
  });

  it("refuses a bad filter with a clear 400 and hints at an unknown key", async () => {
    for (const where of [["width<abc"], ["taken>=2021-02-30"], ["a==b"], [{ key: "x", op: "~", value: 1 }], 5]) {
      const res = await search({ where });
      expect(res.statusCode, JSON.stringify(where)).toBe(400);
      expect(res.json().error.message).toMatch(/where/);
    }
    const none = (await search({ where: ["lang=en"] })).json();
    expect(none.results).toEqual([]);
    expect(none.hint).toMatch(/'lang'/);
  });

  it("takes where and sort as multipart fields of an image search", async () => {
    const img = cocoImages(1)[0];
    const { payload, headers } = await multipart({ where: JSON.stringify(["camera=Canon"]), sort: "-taken", modality: "image" }, { field: "image", name: "q.jpg", type: "image/jpeg", data: readFileSync(img.file) });
    const res = await app.inject({ method: "POST", url: "/api/v1/search/image", payload, headers });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().results.map((r: { id: string }) => r.id)).toEqual(["p1", "p3"]);
  });

  it("documents where, sort and hint in OpenAPI", async () => {
    const doc = (await app.inject({ url: "/openapi.json" })).json();
    const props = doc.paths["/api/v1/search"].post.requestBody.content["application/json"].schema.properties;
    expect(props.where.anyOf).toHaveLength(2);
    expect(JSON.stringify(props.where)).toMatch(/"in"/);
    expect(props.sort.enum).toEqual(["relevance", "taken", "-taken"]);
    // The search response is a shared schema: the route refers to it under components.schemas.
    expect(doc.paths["/api/v1/search"].post.responses["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/SearchResponse");
    expect(doc.components.schemas.SearchResponse.properties.hint).toBeDefined();
    expect(doc.paths["/api/v1/items/{id}/duplicates"].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(["id", "maxDistance", "threshold"]);
  });
});
