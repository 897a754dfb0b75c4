import type { FastifyInstance } from "fastify";
import type { ServerContext } from "./context.js";
import { errors, healthResponse, statsResponse } from "./schemas.js";
import { publicModel, publicStats } from "./views.js";

/** GET /api/v1/stats and GET /api/v1/health. */
export function registerStatusRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    "/api/v1/stats",
    {
      schema: {
        summary: "Counts, model, dimension, indexes and size on disk",
        description: "The model by its id (a local model folder by its folder name). Needs the token when the server is exposed, unless it was started with --public-read.",
        tags: ["status"],
        response: { 200: statsResponse, ...errors(401) },
      },
    },
    async () => publicStats(await ctx.col.stats(), [ctx.col.dir, ctx.col.modelId]),
  );

  app.get(
    "/api/v1/health",
    {
      schema: {
        summary: "Liveness check",
        description: "Always open (no token): status, the model by its id, dimension and uptime, nothing else.",
        tags: ["status"],
        response: { 200: healthResponse },
      },
    },
    async () => ({
      status: "ok",
      model: publicModel(ctx.col.modelId),
      dim: ctx.col.dim,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
    }),
  );
}
