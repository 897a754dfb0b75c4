/**
 * JSON schemas of the HTTP API. Fastify validates requests with them, serialises responses with
 * them, and @fastify/swagger turns them into /openapi.json (OpenAPI 3.1, so `type: [..., "null"]`
 * is valid). Limits here are the API's limits: k ≤ 1000, text ≤ 4096 characters, vector ≤ 8192 dims.
 */
import { annNames, indexChoices } from "../collection/index.js";

/** Largest k a search may ask for. */
export const MAX_K = 1000;
/** Longest text query or text item accepted, in characters (CLIP reads 77 tokens of it anyway). */
export const MAX_TEXT = 4096;
/** Largest vector dimension accepted in a JSON query. */
export const MAX_DIM = 8192;

const scalar = { anyOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }] } as const;

/**
 * A metadata filter: an object of key → string (equality), or a list whose items are conditions
 * `{key, op, value}` or expressions such as "taken>=2020-01-01"; all must hold.
 */
export const whereSchema = {
  description:
    'Metadata filter. An object is equality ({"split":"val"}); a list holds conditions, all of which must hold: ' +
    '{"key":"taken","op":">=","value":"2020-01-01"}, {"key":"camera","op":"in","value":["Canon","Nikon"]}, or the same as text ("width>=1024", "camera in (Canon,Nikon)"). ' +
    "Operators: = != < <= > >= in exists. '<' and friends take a number or a date (YYYY-MM-DD[THH:MM[:SS]]; a date alone means that whole day).",
  anyOf: [
    { type: "object", additionalProperties: scalar },
    {
      type: "array",
      maxItems: 64,
      items: {
        anyOf: [
          { type: "string", minLength: 1, maxLength: 1024 },
          {
            type: "object",
            required: ["key", "op"],
            additionalProperties: false,
            properties: {
              key: { type: "string", minLength: 1 },
              op: { type: "string", enum: ["=", "!=", "<", "<=", ">", ">=", "in", "exists"] },
              value: { anyOf: [...scalar.anyOf, { type: "array", maxItems: 1024, items: scalar }] },
            },
          },
        ],
      },
    },
  ],
} as const;

/** Order of the returned top k. */
export const sortSchema = {
  type: "string",
  enum: ["relevance", "taken", "-taken"],
  description: "Order of the top k: relevance (default, best first), taken (oldest first) or -taken (newest first); items without a date taken go last.",
} as const;

const searchOptionProps = {
  k: { type: "integer", minimum: 1, maximum: MAX_K, description: "Results returned; default 10 (with `cursor`: the first page's k)." },
  modality: {
    type: "string",
    enum: ["image", "text", "any"],
    description: "What is searched: images, texts, or both merged by score; default any.",
  },
  index: {
    type: "string",
    enum: indexChoices(),
    description: `Index that answers: auto (default: the built HNSW, else IVF, index once a modality holds more than 10,000 vectors, exact below), exact (brute force), ${annNames().join(" or ")} (need \`clipdb index build\`; GET /api/v1/stats lists the kinds and what is built).`,
  },
  nprobe: { type: "integer", minimum: 1, maximum: 65536, description: "IVF lists probed; default 16 or the tuned value. Higher is slower and more exact." },
  ef: { type: "integer", minimum: 1, maximum: 100000, description: "HNSW search breadth; default 64 or the tuned value. Higher is slower and more exact." },
  where: whereSchema,
  sort: sortSchema,
  minRelevance: {
    anyOf: [{ type: "number", minimum: 0, maximum: 1 }, { type: "string", enum: ["auto"] }],
    description: 'Drop hits whose `relevance` is below this: a number in [0, 1], or "auto" (the default cutoff, 0.3). Default: off. May return fewer than k.',
  },
  adapt: {
    type: "boolean",
    description: "Apply the collection's stored query adapter (clipdb adapt) when it fits: a text searching images only, or an image searching texts only. Default true.",
  },
  mode: {
    type: "string",
    enum: ["vector", "keyword", "hybrid"],
    description:
      "How hits are ranked: vector (default; cosine), keyword (text items by the query's words, stemmed; \"quoted phrases\" whole) or hybrid (both rankings fused by reciprocal rank, so a rare name in a caption is found even when the embedding misses it). keyword and hybrid need a text query and modality text or any.",
  },
} as const;

/** Body of POST /api/v1/search: exactly one of text, item, vector, plus options. */
export const searchBody = {
  type: "object",
  additionalProperties: false,
  description: "Exactly one of `text`, `item` or `vector`, plus search options.",
  properties: {
    text: { type: "string", minLength: 1, maxLength: MAX_TEXT, description: "Free text, embedded with the collection's model." },
    item: { type: "string", minLength: 1, description: "Id of an item in the collection (item → item search)." },
    vector: {
      type: "array",
      items: { type: "number" },
      minItems: 1,
      maxItems: MAX_DIM,
      description: "A query vector of the collection's dimension; normalised before use.",
    },
    ...searchOptionProps,
    cursor: { type: "string", minLength: 1, maxLength: 64, description: "The `next` of a previous page: returns the page after it (with only `k` beside it)." },
  },
} as const;

/** Multipart body of POST /api/v1/search/image (documented; parsed by hand from the stream). */
export const searchImageBody = {
  type: "object",
  required: ["image"],
  properties: {
    image: { type: "string", format: "binary", description: "The query image: JPEG, PNG, WebP, GIF, AVIF or TIFF. `file` is accepted as an alias." },
    k: { type: "integer", minimum: 1, maximum: MAX_K },
    modality: searchOptionProps.modality,
    index: searchOptionProps.index,
    nprobe: searchOptionProps.nprobe,
    ef: searchOptionProps.ef,
    adapt: { type: "string", enum: ["true", "false"], description: searchOptionProps.adapt.description },
    where: { type: "string", description: "Metadata filter as JSON, as in /search: an object of strings ({\"split\":\"val\"}) or a list of conditions ([\"taken>=2020-01-01\"])." },
    sort: sortSchema,
    minRelevance: { type: "string", description: 'A number in [0, 1] or "auto" (see /search).' },
    mode: searchOptionProps.mode,
  },
} as const;

/** Multipart body of POST /api/v1/items (documented; parsed by hand from the stream). */
export const addItemBody = {
  type: "object",
  properties: {
    image: { type: "string", format: "binary", description: "An image file. With `text`, the text is stored as its caption." },
    text: { type: "string", maxLength: MAX_TEXT, description: "A text item, or the caption of `image`." },
    id: { type: "string", description: "Stable id; default: the content hash (images) or 'text:' + hash (texts)." },
    meta: { type: "string", description: "Metadata as a JSON object." },
  },
} as const;

const nullableString = { type: ["string", "null"] } as const;
const meta = { type: "object", additionalProperties: true } as const;

/**
 * One search hit as sent: the collection's hit plus `pairs` (captions of an image, or a caption's
 * image) and `caption` (an image's first caption, null otherwise).
 */
export const hitSchema = {
  type: "object",
  required: ["rank", "id", "modality", "score", "relevance", "path", "text", "meta", "pairs", "caption"],
  properties: {
    rank: { type: "integer" },
    id: { type: "string" },
    modality: { type: "string", enum: ["image", "text"] },
    score: { type: "number", description: "True cosine similarity between the query and the item." },
    relevance: {
      type: "number",
      minimum: 0,
      maximum: 1,
      description: "Calibrated relevance in [0, 1], comparable across models and collections: the estimated share of true matches among hits at least this strong (fitted per collection and direction).",
    },
    path: nullableString,
    text: nullableString,
    meta,
    pairs: { type: "array", items: { type: "string" } },
    caption: { ...nullableString, description: "For an image: the text of its first caption; otherwise null." },
    rrf: { type: "number", description: "Keyword and hybrid modes: the reciprocal-rank-fusion score that ordered the hits." },
  },
} as const;

/** Response of both search routes. */
export const searchResponse = {
  type: "object",
  required: ["results", "ms", "index", "scanned", "mode", "next"],
  properties: {
    results: { type: "array", items: hitSchema },
    ms: { type: "number", description: "Server-side time of the search, embedding included." },
    index: { type: "string", enum: ["exact", ...annNames(), "keyword"] },
    scanned: { type: "integer", description: "Vectors scored for this query (HNSW does not count them: 0 there, which means unknown)." },
    adapted: { type: "string", enum: ["t2i", "i2t"], description: "The stored query adapter applied, when one was." },
    hint: { type: "string", description: "Set when the results are empty for a reason worth saying, e.g. a filter key that no item has." },
    mode: { type: "string", enum: ["vector", "keyword", "hybrid"] },
    next: {
      type: ["string", "null"],
      description: "Cursor of the next page (send it as `cursor`), or null when this page was the last. Kept 15 minutes by this server process; the next page reuses the query's embedding.",
    },
  },
} as const;

/** An item as GET /api/v1/items/:id returns it. */
export const itemSchema = {
  type: "object",
  required: ["id", "modality", "path", "text", "meta", "hash", "pairs", "createdAt"],
  properties: {
    id: { type: "string" },
    modality: { type: "string", enum: ["image", "text"] },
    path: nullableString,
    text: nullableString,
    meta,
    hash: nullableString,
    pairs: { type: "array", items: { type: "string" } },
    createdAt: { type: "string" },
  },
} as const;

/** Response of POST /api/v1/items. */
export const addResponse = {
  type: "object",
  required: ["added", "skipped", "ids"],
  properties: {
    added: { type: "integer" },
    skipped: { type: "integer", description: "Inputs already in the collection (same content hash)." },
    ids: { type: "array", items: { type: "string" }, description: "Ids added." },
    skippedIds: { type: "array", items: { type: "string" }, description: "Ids under which skipped inputs are already stored (the existing items)." },
  },
} as const;

/** Response of GET /api/v1/stats. */
export const statsResponse = {
  type: "object",
  required: ["images", "texts", "pairs", "dim", "model", "indexes", "kinds", "bytes"],
  properties: {
    images: { type: "integer" },
    texts: { type: "integer" },
    pairs: { type: "integer" },
    dim: { type: ["integer", "null"] },
    model: nullableString,
    bytes: { type: "integer" },
    kinds: {
      type: "array",
      description: "The index kinds this collection's store can build and search, in auto order.",
      items: {
        type: "object",
        required: ["name", "kind", "param", "default", "describe"],
        properties: {
          name: { type: "string", description: "What `index` takes." },
          kind: { type: "string" },
          param: { type: ["string", "null"], description: "Its search parameter (nprobe, ef)." },
          default: { type: ["number", "null"] },
          describe: { type: "string" },
        },
      },
    },
    indexes: {
      type: "array",
      items: {
        type: "object",
        properties: {
          type: { type: "string", description: "The kind's name, as `index` takes it (hnsw, ivf)." },
          kind: { type: "string", description: "The registered kind: hnsw, ivf (clipdb files), pgvector-hnsw, pgvector-ivfflat (inside Postgres)." },
          modality: { type: "string" },
          spec: { type: "string" },
          size: { type: "integer" },
          pending: { type: "integer", description: "Changes since the index file was written (served from an exact in-memory delta until compaction)." },
          bytes: { type: "integer" },
          damaged: { type: "string", description: "Present when the index file is damaged or missing: what is wrong. Rebuild or drop the index." },
        },
      },
    },
  },
} as const;

/** Response of GET /api/v1/health. */
export const healthResponse = {
  type: "object",
  required: ["status"],
  properties: {
    status: { type: "string", enum: ["ok", "degraded"], description: "degraded: the model failed to load (see reason); searches by item or vector still work." },
    reason: { type: "string", description: "Why the server is degraded (no server paths)." },
    modelState: { type: "string", enum: ["idle", "loading", "ready", "failed"] },
    model: nullableString,
    dim: { type: ["integer", "null"] },
    uptimeS: { type: "number" },
  },
} as const;

/** The error body shared by every route. */
export const errorResponse = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        requestId: { type: "string", description: "The request's id, as in the X-Request-Id header and the server log." },
      },
    },
  },
} as const;

/** Path parameter of the item routes: an opaque, URL-encoded id. */
export const idParams = {
  type: "object",
  required: ["id"],
  properties: {
    id: { type: "string", minLength: 1, description: "The item id, URL-encoded (ids may contain '/', '#', spaces)." },
  },
} as const;

/** Error responses of a route, by status, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, typeof errorResponse> {
  const out: Record<number, typeof errorResponse> = {};
  for (const s of statuses) out[s] = errorResponse;
  return out;
}
