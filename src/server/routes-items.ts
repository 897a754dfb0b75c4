import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AddSummary, ImageBytes, ItemView } from "../collection/types.js";
import { ClipdbError, type ErrorCode, ERROR_CODES } from "../core/errors.js";
import type { ServerContext } from "./context.js";
import { readForm } from "./multipart.js";
import { parseMeta } from "./params.js";
import { AddItemBody, AddResponseSchema, Binary, errors, IdParams, ItemSchema, MAX_TEXT, RemoveResponseSchema } from "./schemas.js";
import { publicItem } from "./views.js";

/** Looks an item up by its id; the id is never used as a path. */
async function itemOr404(ctx: ServerContext, id: string): Promise<ItemView> {
  const item = await ctx.col.get(id);
  if (!item) throw new ClipdbError("NOT_FOUND", { id });
  return item;
}

/**
 * Sends image bytes with an ETag derived from the item's content hash, so browsers revalidate
 * cheaply (304) and never keep a stale picture after an id is reused for other content.
 */
async function sendImage(req: Pick<FastifyRequest, "headers">, reply: FastifyReply, item: ItemView, variant: string, load: () => Promise<ImageBytes>) {
  const etag = item.hash ? `"${item.hash}-${variant}"` : undefined;
  if (etag) {
    reply.header("ETag", etag);
    reply.header("Cache-Control", "private, no-cache");
    if (req.headers["if-none-match"] === etag) return reply.code(304).send();
  }
  const img = await load();
  reply.header("Content-Type", img.mime);
  reply.header("Content-Disposition", "inline");
  return reply.send(img.data);
}

/** Turns the first per-file failure of an ingest into the error the client sees. */
function failureOf(summary: AddSummary): ClipdbError | undefined {
  const first = summary.errors[0];
  if (summary.failed === 0 || !first) return undefined;
  // The ingest's own error, which already says what went wrong and how to fix it.
  if (first.error) return first.error;
  const code = (first.code in ERROR_CODES ? first.code : "INTERNAL") as ErrorCode;
  return new ClipdbError(code, { reason: first.message });
}

const ADD_FIELDS = ["text", "id", "meta"];

/** GET/DELETE /api/v1/items/:id, GET …/image and …/thumb, POST /api/v1/items. */
export function registerItemRoutes(base: FastifyInstance, ctx: ServerContext): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/api/v1/items/:id",
    {
      schema: {
        summary: "Get an item",
        tags: ["items"],
        params: IdParams,
        response: { 200: ItemSchema, ...errors(404) },
      },
    },
    async (req) => publicItem(await itemOr404(ctx, req.params.id)),
  );

  app.get(
    "/api/v1/items/:id/image",
    {
      schema: {
        summary: "The full image of an image item",
        description: "The item's own file, found by id. Text items and unknown ids get 404.",
        tags: ["items"],
        params: IdParams,
        produces: ["image/*"],
        response: { 200: Binary, ...errors(404) },
      },
    },
    async (req, reply) => {
      const item = await itemOr404(ctx, req.params.id);
      return sendImage(req, reply, item, "full", () => ctx.col.image(item.id));
    },
  );

  app.get(
    "/api/v1/items/:id/thumb",
    {
      schema: {
        summary: "A JPEG thumbnail of an image item",
        description: "EXIF-rotated, made once and cached by the collection.",
        tags: ["items"],
        params: IdParams,
        produces: ["image/jpeg"],
        response: { 200: Binary, ...errors(404, 422) },
      },
    },
    async (req, reply) => {
      const item = await itemOr404(ctx, req.params.id);
      return sendImage(req, reply, item, "thumb", () => ctx.col.thumbnail(item.id));
    },
  );

  app.delete(
    "/api/v1/items/:id",
    {
      schema: {
        summary: "Remove an item",
        description: "Removes the item, its pairs and its vectors from every index. Needs the Bearer token when one is set, and refuses cross-origin requests.",
        tags: ["items"],
        params: IdParams,
        security: [{ bearer: [] }],
        response: {
          200: RemoveResponseSchema,
          ...errors(401, 403, 404),
        },
      },
    },
    async (req) => {
      const removed = await ctx.col.remove([req.params.id]);
      if (removed === 0) throw new ClipdbError("NOT_FOUND", { id: req.params.id });
      return { removed };
    },
  );

  app.post(
    "/api/v1/items",
    {
      validatorCompiler: () => () => true,
      schema: {
        summary: "Add an image and/or a text",
        description:
          "multipart/form-data: `image` (file; `file` is accepted as an alias) and/or `text`, optional `id` and `meta` (JSON object). " +
          "With both, the text is stored as the image's caption. Re-adding the same content is skipped. " +
          "Needs the Bearer token when one is set, and refuses cross-origin requests. Uploads beyond the server's cap get 503 with Retry-After.",
        tags: ["items"],
        consumes: ["multipart/form-data"],
        body: AddItemBody,
        security: [{ bearer: [] }],
        response: { 201: AddResponseSchema, 200: AddResponseSchema, ...errors(400, 401, 403, 409, 413, 415, 422, 500, 503) },
      },
    },
    async (req, reply) => {
      const form = await readForm(req, ctx.uploadLimit);
      const unknown = Object.keys(form.fields).filter((f) => !ADD_FIELDS.includes(f));
      if (unknown.length > 0) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: unknown[0], reason: "unknown field", hint: "Fields: image, text, id, meta." });
      }
      const { text, id } = form.fields;
      const meta = parseMeta(form.fields.meta);
      if (text !== undefined && (text.trim() === "" || text.length > MAX_TEXT)) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: "text", reason: `must be 1 to ${MAX_TEXT} characters` });
      }
      if (id !== undefined && id.trim() === "") throw new ClipdbError("INVALID_ARGUMENT", { name: "id", reason: "the id is blank" });
      let summary: AddSummary;
      if (form.file && form.file.data.length > 0) {
        summary = await ctx.col.addImages([
          { data: form.file.data, name: form.file.filename, id, meta, captions: text === undefined ? undefined : [text] },
        ]);
      } else if (text !== undefined) {
        summary = await ctx.col.addTexts([{ text, id, meta }]);
      } else {
        throw new ClipdbError("INVALID_ARGUMENT", { name: "image", reason: "nothing to add", hint: "Send an 'image' file, a 'text' field, or both." });
      }
      const failure = failureOf(summary);
      if (failure) throw failure;
      reply.code(summary.added > 0 ? 201 : 200);
      return { added: summary.added, skipped: summary.skipped, ids: summary.ids, skippedIds: summary.skippedIds ?? [] };
    },
  );
}
