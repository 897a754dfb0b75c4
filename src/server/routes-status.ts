import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { ServerContext } from "./context.js";
import { toHttpError } from "./errors.js";
import { errors, HealthResponseSchema, StatsResponseSchema } from "./schemas.js";
import { publicModel, publicStats } from "./views.js";

/** GET /api/v1/stats and GET /api/v1/health. */
export function registerStatusRoutes(base: FastifyInstance, ctx: ServerContext): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/api/v1/stats",
    {
      schema: {
        summary: "Counts, model, dimension, indexes and size on disk",
        description: "The model by its id (a local model folder by its folder name). Needs the token when the server is exposed, unless it was started with --public-read.",
        tags: ["status"],
        response: { 200: StatsResponseSchema, ...errors(401) },
      },
    },
    async () => publicStats(await ctx.col.stats(), [ctx.col.dir, ctx.col.modelId]),
  );

  app.get(
    "/api/v1/health",
    {
      schema: {
        summary: "Liveness check",
        description:
          "Always open (no token): status, the model by its id, dimension and uptime, nothing else. " +
          "`status` is `degraded` (still HTTP 200: the server is alive and serves searches by item or vector) when the embedding model failed to load; " +
          "`reason` then says why, without server paths. `modelState` is idle, loading, ready or failed.",
        tags: ["status"],
        response: { 200: HealthResponseSchema },
      },
    },
    async () => {
      const model = ctx.col.modelState();
      const body = {
        status: model.state === "failed" ? ("degraded" as const) : ("ok" as const),
        model: publicModel(ctx.col.modelId),
        modelState: model.state,
        dim: ctx.col.dim,
        uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
      };
      if (model.state !== "failed") return body;
      const reason = toHttpError(model.error, ctx.uploadLimit, { folders: [ctx.col.dir, ctx.col.modelId] }).body.error.message;
      return { ...body, reason };
    },
  );
}
