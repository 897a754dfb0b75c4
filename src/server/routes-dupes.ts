import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { DEFAULT_DUPE_THRESHOLD, DEFAULT_HASH_DISTANCE } from "../collection/index.js";
import { ClipdbError } from "../core/errors.js";
import type { ServerContext } from "./context.js";
import { errors, IdParams } from "./schemas.js";

const DupeQuery = Type.Object({
  threshold: Type.Optional(
    Type.Number({ minimum: -1, maximum: 1, description: `Least embedding cosine of a pair; default ${DEFAULT_DUPE_THRESHOLD}. Higher is stricter.` }),
  ),
  maxDistance: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 64, description: `Most differing perceptual-hash bits of 64; default ${DEFAULT_HASH_DISTANCE}. Lower is stricter.` }),
  ),
});

const DupeMatch = Type.Object({
  id: Type.String(),
  score: Type.Number({ description: "Cosine of the two embeddings." }),
  distance: Type.Integer({ description: "Perceptual-hash bits (of 64) that differ." }),
});

const DupesOfResponse = Type.Object({ id: Type.String(), duplicates: Type.Array(DupeMatch) });

const DupeGroupsResponse = Type.Object({
  groups: Type.Array(Type.Object({ ids: Type.Array(Type.String()), score: Type.Number() })),
  images: Type.Integer({ description: "Images compared." }),
  unhashed: Type.Array(Type.String(), { description: "Images that could not be compared (no hash, file gone)." }),
});

/** GET /api/v1/items/:id/duplicates and GET /api/v1/duplicates. */
export function registerDupeRoutes(base: FastifyInstance, ctx: ServerContext): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/api/v1/items/:id/duplicates",
    {
      schema: {
        summary: "Near-duplicates of an image item",
        description:
          "Stored images that are re-encodes, resizes, small crops or rotated copies of this one: perceptual hashes within maxDistance bits and embeddings at least threshold apart, best first. A text item has none.",
        tags: ["items"],
        params: IdParams,
        querystring: DupeQuery,
        response: {
          200: DupesOfResponse,
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

  app.get(
    "/api/v1/duplicates",
    {
      schema: {
        summary: "Groups of near-duplicate images",
        description: "Every group of near-identical images in the collection (as `clipdb dupes --json`), highest score first.",
        tags: ["items"],
        querystring: DupeQuery,
        response: {
          200: DupeGroupsResponse,
          ...errors(400),
        },
      },
    },
    async (req) => ctx.col.duplicates(req.query),
  );
}
