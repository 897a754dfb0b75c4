import type { FastifyInstance } from "fastify";
import { DEFAULT_DUPE_THRESHOLD, DEFAULT_HASH_DISTANCE } from "../collection/index.js";
import { ClipdbError } from "../core/errors.js";
import type { ServerContext } from "./context.js";
import { errors, idParams } from "./schemas.js";

const dupeQuery = {
  type: "object",
  properties: {
    threshold: { type: "number", minimum: -1, maximum: 1, description: `Least embedding cosine of a pair; default ${DEFAULT_DUPE_THRESHOLD}. Higher is stricter.` },
    maxDistance: { type: "integer", minimum: 0, maximum: 64, description: `Most differing perceptual-hash bits of 64; default ${DEFAULT_HASH_DISTANCE}. Lower is stricter.` },
  },
} as const;

const matchSchema = {
  type: "object",
  required: ["id", "score", "distance"],
  properties: {
    id: { type: "string" },
    score: { type: "number", description: "Cosine of the two embeddings." },
    distance: { type: "integer", description: "Perceptual-hash bits (of 64) that differ." },
  },
} as const;

/** GET /api/v1/items/:id/duplicates and GET /api/v1/duplicates. */
export function registerDupeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Params: { id: string }; Querystring: { threshold?: number; maxDistance?: number } }>(
    "/api/v1/items/:id/duplicates",
    {
      schema: {
        summary: "Near-duplicates of an image item",
        description:
          "Stored images that are re-encodes, resizes, small crops or rotated copies of this one: perceptual hashes within maxDistance bits and embeddings at least threshold apart, best first. A text item has none.",
        tags: ["items"],
        params: idParams,
        querystring: dupeQuery,
        response: {
          200: { type: "object", required: ["id", "duplicates"], properties: { id: { type: "string" }, duplicates: { type: "array", items: matchSchema } } },
          ...errors(400, 404),
        },
      },
    },
    async (req) => {
      const item = await ctx.col.get(req.params.id);
      if (!item) throw new ClipdbError("NOT_FOUND", { id: req.params.id });
      return { id: item.id, duplicates: await ctx.col.duplicatesOf(item.id, req.query) };
    },
  );

  app.get<{ Querystring: { threshold?: number; maxDistance?: number } }>(
    "/api/v1/duplicates",
    {
      schema: {
        summary: "Groups of near-duplicate images",
        description: "Every group of near-identical images in the collection (as `clipdb dupes --json`), highest score first.",
        tags: ["items"],
        querystring: dupeQuery,
        response: {
          200: {
            type: "object",
            required: ["groups", "images", "unhashed"],
            properties: {
              groups: { type: "array", items: { type: "object", required: ["ids", "score"], properties: { ids: { type: "array", items: { type: "string" } }, score: { type: "number" } } } },
              images: { type: "integer", description: "Images compared." },
              unhashed: { type: "array", items: { type: "string" }, description: "Images that could not be compared (no hash, file gone)." },
            },
          },
          ...errors(400),
        },
      },
    },
    async (req) => ctx.col.duplicates(req.query),
  );
}
