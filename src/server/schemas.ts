/**
 * The one schema source of the HTTP API, written with TypeBox. From these schemas come Fastify's
 * validation and response serialisation, the route handlers' types (through the TypeBox type
 * provider), @fastify/swagger's /openapi.json (OpenAPI 3.1, so `type: [..., "null"]` is valid), and,
 * generated from that document, the web UI's types (web/src/api.gen.ts, `npm run gen:api`).
 * Limits here are the API's limits: k ≤ 1000, text ≤ 4096 characters, vector ≤ 8192 dims.
 * Search request bodies live in schemas-search.ts.
 */
import { type SchemaOptions, type Static, type TSchema, type TUnsafe, Type } from "@sinclair/typebox";
import { annNames } from "../collection/index.js";

/** Largest k a search may ask for. */
export const MAX_K = 1000;
/** Longest text query or text item accepted, in characters (CLIP reads 77 tokens of it anyway). */
export const MAX_TEXT = 4096;
/** Largest vector dimension accepted in a JSON query. */
export const MAX_DIM = 8192;

/**
 * A string enum as JSON Schema's `enum` (so Ajv's error lists the allowed values, and OpenAPI shows
 * an enum), typed as the union of its values. TypeBox's own Union of Literals would be an `anyOf`
 * of `const`s, whose errors are one line per value.
 */
export function StringEnum<const T extends readonly string[]>(values: T, opts: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...opts, type: "string", enum: [...values] });
}

/**
 * A value of JSON type `type`, or null, as `type: [type, "null"]`: the form the serialiser writes
 * fastest and OpenAPI 3.1 reads as nullable.
 */
export function Nullable<T extends "string" | "integer" | "number">(type: T, opts: SchemaOptions = {}) {
  return Type.Unsafe<(T extends "string" ? string : number) | null>({ ...opts, type: [type, "null"] });
}

/**
 * A `$ref` to a shared schema (one with an `$id`, in SHARED_SCHEMAS), typed as that schema: the
 * document names it once under components.schemas, and the generated web types name it too.
 */
export function RefTo<T extends TSchema>(schema: T, opts: SchemaOptions = {}): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error("RefTo needs a schema with an $id");
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id, opts));
}

/** Free-form metadata: an object of any keys. */
export const Meta = Type.Unsafe<Record<string, unknown>>({ type: "object", additionalProperties: true });

/** Image or text. */
export const ModalitySchema = StringEnum(["image", "text"]);

/** How hits are ranked. */
export const SEARCH_MODES = ["vector", "keyword", "hybrid"] as const;

/**
 * One search hit as sent: the collection's hit plus `pairs` (captions of an image, or a caption's
 * image) and `caption` (an image's first caption, null otherwise).
 */
export const HitSchema = Type.Object(
  {
    rank: Type.Integer(),
    id: Type.String(),
    modality: ModalitySchema,
    score: Type.Number({ description: "True cosine similarity between the query and the item." }),
    relevance: Type.Number({
      minimum: 0,
      maximum: 1,
      description:
        "Calibrated relevance in [0, 1], comparable across models and collections: the estimated share of true matches among hits at least this strong (fitted per collection and direction).",
    }),
    path: Nullable("string"),
    text: Nullable("string"),
    meta: Meta,
    pairs: Type.Array(Type.String()),
    caption: Nullable("string", { description: "For an image: the text of its first caption; otherwise null." }),
    rrf: Type.Optional(Type.Number({ description: "Keyword and hybrid modes: the reciprocal-rank-fusion score that ordered the hits." })),
  },
  { $id: "Hit" },
);
/** One search hit as sent. */
export type Hit = Static<typeof HitSchema>;

/** Response of both search routes. */
export const SearchResponseSchema = Type.Object(
  {
    results: Type.Array(RefTo(HitSchema)),
    ms: Type.Number({ description: "Server-side time of the search, embedding included." }),
    index: StringEnum(["exact", ...annNames(), "keyword"]),
    scanned: Type.Integer({ description: "Vectors scored for this query (HNSW does not count them: 0 there, which means unknown)." }),
    adapted: Type.Optional(StringEnum(["t2i", "i2t"], { description: "The stored query adapter applied, when one was." })),
    hint: Type.Optional(Type.String({ description: "Set when the results are empty for a reason worth saying, e.g. a filter key that no item has." })),
    mode: StringEnum(SEARCH_MODES),
    next: Nullable("string", {
      description:
        "Cursor of the next page (send it as `cursor`), or null when this page was the last. Kept 15 minutes by this server process; the next page reuses the query's embedding.",
    }),
  },
  { $id: "SearchResponse" },
);
/** Response of both search routes. */
export type SearchResponse = Static<typeof SearchResponseSchema>;

/** An item as GET /api/v1/items/:id returns it. */
export const ItemSchema = Type.Object({
  id: Type.String(),
  modality: ModalitySchema,
  path: Nullable("string"),
  text: Nullable("string"),
  meta: Meta,
  hash: Nullable("string"),
  pairs: Type.Array(Type.String()),
  createdAt: Type.String(),
});

/** Multipart body of POST /api/v1/items (documented; parsed by hand from the stream). */
export const AddItemBody = Type.Object({
  image: Type.Optional(Type.String({ format: "binary", description: "An image file (`file` is accepted as an alias). With `text`, the text is stored as its caption." })),
  text: Type.Optional(Type.String({ maxLength: MAX_TEXT, description: "A text item, or the caption of `image`." })),
  id: Type.Optional(Type.String({ description: "Stable id; default: the content hash (images) or 'text:' + hash (texts)." })),
  meta: Type.Optional(Type.String({ description: "Metadata as a JSON object." })),
});

/** Response of POST /api/v1/items. */
export const AddResponseSchema = Type.Object({
  added: Type.Integer(),
  skipped: Type.Integer({ description: "Inputs already in the collection (same content hash)." }),
  ids: Type.Array(Type.String(), { description: "Ids added." }),
  skippedIds: Type.Optional(Type.Array(Type.String(), { description: "Ids under which skipped inputs are already stored (the existing items)." })),
});

/** Response of DELETE /api/v1/items/:id. */
export const RemoveResponseSchema = Type.Object({ removed: Type.Integer() });

/** Response of GET /api/v1/stats. */
export const StatsResponseSchema = Type.Object({
  images: Type.Integer(),
  texts: Type.Integer(),
  pairs: Type.Integer(),
  dim: Nullable("integer"),
  model: Nullable("string"),
  indexes: Type.Array(
    Type.Object({
      type: Type.String({ description: "The kind's name, as `index` takes it (hnsw, ivf)." }),
      kind: Type.String({ description: "The registered kind: hnsw, ivf (clipdb files), pgvector-hnsw, pgvector-ivfflat (inside Postgres)." }),
      modality: ModalitySchema,
      spec: Type.String(),
      size: Type.Integer(),
      pending: Type.Integer({ description: "Changes since the index file was written (served from an exact in-memory delta until compaction)." }),
      bytes: Type.Integer(),
      damaged: Type.Optional(Type.String({ description: "Present when the index file is damaged or missing: what is wrong. Rebuild or drop the index." })),
    }),
  ),
  kinds: Type.Array(
    Type.Object({
      name: Type.String({ description: "What `index` takes." }),
      kind: Type.String(),
      param: Nullable("string", { description: "Its search parameter (nprobe, ef)." }),
      default: Nullable("number"),
      describe: Type.String(),
    }),
    { description: "The index kinds this collection's store can build and search, in auto order." },
  ),
  bytes: Type.Integer(),
});

/** Response of GET /api/v1/health. */
export const HealthResponseSchema = Type.Object({
  status: StringEnum(["ok", "degraded"], { description: "degraded: the model failed to load (see reason); searches by item or vector still work." }),
  reason: Type.Optional(Type.String({ description: "Why the server is degraded (no server paths)." })),
  modelState: Type.Optional(StringEnum(["idle", "loading", "ready", "failed"])),
  model: Type.Optional(Nullable("string")),
  dim: Type.Optional(Nullable("integer")),
  uptimeS: Type.Optional(Type.Number()),
});

/**
 * The error body of every route: `{ "error": { "code", "message", "requestId" } }`. The request id
 * is also the response's X-Request-Id header, and names the request in the server log.
 */
export const ErrorResponseSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      requestId: Type.Optional(Type.String({ description: "The request's id, as in the X-Request-Id header and the server log." })),
    }),
  },
  { $id: "Error" },
);

/** Path parameter of the item routes: an opaque, URL-encoded id. */
export const IdParams = Type.Object({
  id: Type.String({ minLength: 1, description: "The item id, URL-encoded (ids may contain '/', '#', spaces)." }),
});

/** A binary response (an image). */
export const Binary = Type.String({ format: "binary" });

/** What each error status of the API means, as the OpenAPI document describes it. */
const ERROR_STATUS: Record<number, string> = {
  400: "Invalid request (INVALID_ARGUMENT and friends); the message names the field.",
  401: "A Bearer token is needed, or the one sent was refused (UNAUTHORIZED).",
  403: "The Host is not one this server answers to, or a write came from another origin (FORBIDDEN).",
  404: "No such item or route (NOT_FOUND).",
  409: "The collection's state refuses it: index not built, not trained or damaged, or a duplicate id.",
  413: "The body or upload is larger than the server accepts (PAYLOAD_TOO_LARGE).",
  415: "Unsupported Content-Type or image type (UNSUPPORTED_MEDIA).",
  422: "The image cannot be decoded, or has too many pixels (IMAGE_DECODE, IMAGE_TOO_LARGE).",
  500: "Internal error; the details are in the server log under the request id.",
  503: "Busy (with Retry-After), shutting down, or the model or store is unavailable.",
};

/** Error responses of a route, by status, for the OpenAPI document: each a `$ref` to Error, described. */
export function errors<S extends number>(...statuses: S[]): Record<S, TUnsafe<Static<typeof ErrorResponseSchema>>> {
  const out = {} as Record<S, TUnsafe<Static<typeof ErrorResponseSchema>>>;
  for (const s of statuses) out[s] = RefTo(ErrorResponseSchema, { description: ERROR_STATUS[s] });
  return out;
}

/**
 * The schemas that routes reach by `$ref` (RefTo): buildServer adds them with `app.addSchema`, and
 * the OpenAPI document lists them under components.schemas by their `$id`.
 */
export const SHARED_SCHEMAS: readonly TSchema[] = [HitSchema, SearchResponseSchema, ErrorResponseSchema];
