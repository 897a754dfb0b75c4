import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { SearchResult } from "../collection/types.js";
import { ClipdbError } from "../core/errors.js";
import type { ServerContext } from "./context.js";
import { Cursors } from "./cursors.js";
import { readForm } from "./multipart.js";
import { parseSearchQuery, parseSearchParams } from "./params.js";
import { errors, type Hit, RefTo, type SearchResponse, SearchResponseSchema } from "./schemas.js";
import { SEARCH_IMAGE_FIELDS, SearchBodySchema, SearchImageBodySchema } from "./schemas-search.js";
import { publicPath } from "./views.js";
import { uploadQuery } from "./terms.js";

/**
 * Adds to each hit its `pairs` (captions of an image, the image of a caption) and, for an image, the
 * text of its first caption as `caption`, so a UI can show them without a round trip per result.
 * One store read for all hits, not one or two per hit.
 */
export async function withPairs(ctx: ServerContext, result: SearchResult, next: string | null = null): Promise<SearchResponse> {
  const byId = await ctx.col.pairsOf(result.results.map((h) => h.id));
  const results: Hit[] = result.results.map((hit) => {
    const p = byId.get(hit.id);
    return { ...hit, path: publicPath(hit.path), pairs: p?.pairs ?? [], caption: hit.modality === "image" ? (p?.caption ?? null) : null };
  });
  return { ...result, results, next };
}

/** Multipart uploads are parsed from the stream by hand; the body schema is for the OpenAPI document only. */
const documentOnly = { validatorCompiler: () => () => true };

/** POST /api/v1/search (JSON) and POST /api/v1/search/image (multipart upload). */
export function registerSearchRoutes(base: FastifyInstance, ctx: ServerContext): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const cursors = new Cursors();
  app.post(
    "/api/v1/search",
    {
      schema: {
        summary: "Search by text, item id or vector",
        description:
          "One of text, item or vector, optionally combined with plus/minus terms (q = normalize(e + Σ w·e_plus − Σ w·e_minus)); or `cursor` (a page's `next`) for the page after it. Scores are true cosines, best first; each hit carries a calibrated relevance in [0, 1], and minRelevance drops weaker hits; `mode` keyword or hybrid ranks text items by their words too.",
        tags: ["search"],
        body: SearchBodySchema,
        response: { 200: RefTo(SearchResponseSchema), ...errors(400, 401, 403, 404, 409, 413, 415, 500, 503) },
      },
      // Fastify parses text/plain and multipart too; this route takes JSON only.
      onRequest: async (req) => {
        const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
        if (type !== "application/json") {
          throw new ClipdbError("UNSUPPORTED_MEDIA", {
            type: type || "none",
            hint: "Send a JSON body with Content-Type: application/json, or upload images to /api/v1/search/image.",
          });
        }
      },
    },
    async (req) => {
      const body = req.body ?? {};
      if (body.cursor !== undefined) {
        const extra = Object.keys(body).filter((key) => key !== "cursor" && key !== "k");
        if (extra.length > 0) {
          throw new ClipdbError("INVALID_ARGUMENT", { name: extra[0], reason: "a cursor continues its search with that search's query and options", hint: "Send only 'cursor' (and 'k')." });
        }
        const { query, params } = cursors.resume(body.cursor, parseSearchParams({ k: body.k }).k);
        const result = await ctx.col.search(query, params);
        return withPairs(ctx, result, cursors.after(body.cursor, params, result));
      }
      const query = parseSearchQuery(body);
      const params = parseSearchParams(body);
      const result = await ctx.col.search(query, params);
      return withPairs(ctx, result, cursors.next(query, params, result));
    },
  );

  app.post(
    "/api/v1/search/image",
    {
      ...documentOnly,
      schema: {
        summary: "Search by an uploaded image",
        description:
          "multipart/form-data with the image in `image` (`file` is accepted as an alias) and the same options as /search as fields. With imageAs=plus or minus, the image is a term of the `text` or `item` query (weight imageWeight) instead of the query itself.",
        tags: ["search"],
        consumes: ["multipart/form-data"],
        body: SearchImageBodySchema,
        response: { 200: RefTo(SearchResponseSchema), ...errors(400, 401, 403, 413, 415, 422, 500, 503) },
      },
    },
    async (req) => {
      const form = await readForm(req, ctx.uploadLimit);
      if (!form.file || form.file.data.length === 0) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: "image", reason: "no image uploaded", hint: "Send the image in the 'image' field." });
      }
      const unknown = Object.keys(form.fields).filter((f) => !SEARCH_IMAGE_FIELDS.includes(f));
      if (unknown.length > 0) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: unknown[0], reason: "unknown field", hint: `Fields: image, ${SEARCH_IMAGE_FIELDS.join(", ")}.` });
      }
      const params = parseSearchParams(form.fields);
      const query = uploadQuery(form.file.data, form.fields);
      const result = await ctx.col.search(query, params);
      return withPairs(ctx, result, cursors.next(query, params, result));
    },
  );
}
