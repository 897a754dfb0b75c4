import type { FastifyInstance } from "fastify";
import type { ServerContext } from "./context.js";
import { healthResponse, statsResponse } from "./schemas.js";

/** GET /api/v1/stats and GET /api/v1/health. */
export function registerStatusRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    "/api/v1/stats",
    {
      schema: {
        summary: "Counts, model, dimension, indexes and size on disk",
        tags: ["status"],
        response: { 200: statsResponse },
      },
    },
    async () => ctx.col.stats(),
  );

  app.get(
    "/api/v1/health",
    {
      schema: {
        summary: "Liveness check",
        tags: ["status"],
        response: { 200: healthResponse },
      },
    },
    async () => ({
      status: "ok",
      model: ctx.col.modelId,
      dim: ctx.col.dim,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
    }),
  );
}
