/**
 * The request schemas of the two search routes (TypeBox; see schemas.ts for what comes from them):
 * the JSON body of POST /api/v1/search and the multipart fields of POST /api/v1/search/image.
 * Cross-field rules (exactly one of text, item or vector; a cursor alone) are not expressible here
 * with useful errors: the query layer's parseQuery and the route check them, naming the fields.
 */
import { type Static, Type } from "@sinclair/typebox";
import { annNames, indexChoices } from "../collection/index.js";
import { MAX_DIM, MAX_K, MAX_TEXT, SEARCH_MODES, StringEnum } from "./schemas.js";

/** Largest number of plus and minus terms of one query. */
export const MAX_HTTP_TERMS = 16;

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

/** Filter operators. */
const WHERE_OPS = ["=", "!=", "<", "<=", ">", ">=", "in", "exists"] as const;

/**
 * A metadata filter: an object of key → string (equality), or a list whose items are conditions
 * `{key, op, value}` or expressions such as "taken>=2020-01-01"; all must hold.
 */
export const WhereSchema = Type.Union(
  [
    Type.Unsafe<Record<string, string | number | boolean>>({ type: "object", additionalProperties: Scalar }),
    Type.Array(
      Type.Union([
        Type.String({ minLength: 1, maxLength: 1024 }),
        Type.Object(
          {
            key: Type.String({ minLength: 1 }),
            op: StringEnum(WHERE_OPS),
            value: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Array(Scalar, { maxItems: 1024 })])),
          },
          { additionalProperties: false },
        ),
      ]),
      { maxItems: 64 },
    ),
  ],
  {
    examples: [{ split: "val" }, ["taken>=2020-01-01", "camera in (Canon,Nikon)"]],
    description:
      'Metadata filter. An object is equality ({"split":"val"}); a list holds conditions, all of which must hold: ' +
      '{"key":"taken","op":">=","value":"2020-01-01"}, {"key":"camera","op":"in","value":["Canon","Nikon"]}, or the same as text ("width>=1024", "camera in (Canon,Nikon)"). ' +
      "Operators: = != < <= > >= in exists. '<' and friends take a number or a date (YYYY-MM-DD[THH:MM[:SS]]; a date alone means that whole day).",
  },
);

/** Order of the returned top k. */
export const SortSchema = StringEnum(["relevance", "taken", "-taken"], {
  description: "Order of the top k: relevance (default, best first), taken (oldest first) or -taken (newest first); items without a date taken go last.",
});

const modality = StringEnum(["image", "text", "any"], { description: "What is searched: images, texts, or both merged by score; default any." });
const index = StringEnum(indexChoices(), {
  description: `Index that answers: auto (default: the built HNSW, else IVF, index once a modality holds more than 10,000 vectors, exact below), exact (brute force), ${annNames().join(" or ")} (need \`clipdb index build\`; GET /api/v1/stats lists the kinds and what is built).`,
});
const nprobe = Type.Integer({ minimum: 1, maximum: 65536, description: "IVF lists probed; default 16 or the tuned value. Higher is slower and more exact." });
const ef = Type.Integer({ minimum: 1, maximum: 100000, description: "HNSW search breadth; default 64 or the tuned value. Higher is slower and more exact." });
const ADAPT =
  "Apply the collection's stored query adapter (clipdb adapt) when it fits: a text searching images only, or an image searching texts only. Default true.";
const mode = StringEnum(SEARCH_MODES, {
  description:
    'How hits are ranked: vector (default; cosine), keyword (text items by the query\'s words, stemmed; "quoted phrases" whole) or hybrid (both rankings fused by reciprocal rank, so a rare name in a caption is found even when the embedding misses it). keyword and hybrid need a text query and modality text or any.',
});
const text = Type.String({ minLength: 1, maxLength: MAX_TEXT, description: "Free text, embedded with the collection's model.", examples: ["a dog on a beach"] });
const item = Type.String({ minLength: 1, description: "Id of an item in the collection (item → item search)." });
const vector = Type.Array(Type.Number(), { minItems: 1, maxItems: MAX_DIM, description: "A query vector of the collection's dimension; normalised before use." });

/** One plus or minus term in JSON. */
export const TermSchema = Type.Object(
  {
    text: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TEXT })),
    item: Type.Optional(Type.String({ minLength: 1, description: "An item id: its stored vector (images by id)." })),
    vector: Type.Optional(Type.Array(Type.Number(), { minItems: 1, maxItems: MAX_DIM })),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 1 })),
  },
  { additionalProperties: false, description: "Exactly one of `text`, `item` or `vector`, and an optional `weight` (default 1, > 0)." },
);

/** Body of POST /api/v1/search: exactly one of text, item, vector (or plus terms), plus options; or a cursor. */
export const SearchBodySchema = Type.Object(
  {
    text: Type.Optional(text),
    item: Type.Optional(item),
    vector: Type.Optional(vector),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_K, description: "Results returned; default 10 (with `cursor`: the first page's k)." })),
    modality: Type.Optional(modality),
    index: Type.Optional(index),
    nprobe: Type.Optional(nprobe),
    ef: Type.Optional(ef),
    where: Type.Optional(WhereSchema),
    sort: Type.Optional(SortSchema),
    minRelevance: Type.Optional(
      Type.Union([Type.Number({ minimum: 0, maximum: 1 }), StringEnum(["auto"])], {
        description: 'Drop hits whose `relevance` is below this: a number in [0, 1], or "auto" (the default cutoff, 0.3). Default: off. May return fewer than k.',
      }),
    ),
    adapt: Type.Optional(Type.Boolean({ description: ADAPT })),
    mode: Type.Optional(mode),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "The `next` of a previous page: returns the page after it (with only `k` beside it)." })),
    plus: Type.Optional(
      Type.Array(TermSchema, {
        maxItems: MAX_HTTP_TERMS,
        description:
          "Inputs added to the query: q = normalize(e + Σ w·e_plus − Σ w·e_minus), every input L2-normalised. With `plus`, the main query may be left out.",
      }),
    ),
    minus: Type.Optional(Type.Array(TermSchema, { maxItems: MAX_HTTP_TERMS, description: "Inputs subtracted from the query (see plus). Inputs that cancel out are a 400." })),
  },
  { additionalProperties: false, description: "Exactly one of `text`, `item` or `vector` (or `plus` terms), plus search options; or `cursor`." },
);
/** The JSON body of POST /api/v1/search, as validated. */
export type SearchBody = Static<typeof SearchBodySchema>;

/** Multipart fields of POST /api/v1/search/image (documented; parsed by hand from the stream, as strings). */
export const SearchImageBodySchema = Type.Object({
  image: Type.String({ format: "binary", description: "The query image: JPEG, PNG, WebP, GIF, AVIF or TIFF. `file` is accepted as an alias." }),
  k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_K })),
  modality: Type.Optional(modality),
  index: Type.Optional(index),
  nprobe: Type.Optional(nprobe),
  ef: Type.Optional(ef),
  adapt: Type.Optional(StringEnum(["true", "false"], { description: ADAPT })),
  where: Type.Optional(
    Type.String({ description: 'Metadata filter as JSON, as in /search: an object of strings ({"split":"val"}) or a list of conditions (["taken>=2020-01-01"]).' }),
  ),
  sort: Type.Optional(SortSchema),
  minRelevance: Type.Optional(Type.String({ description: 'A number in [0, 1] or "auto" (see /search).' })),
  mode: Type.Optional(mode),
  text: Type.Optional(Type.String({ maxLength: MAX_TEXT, description: "With imageAs=plus|minus: the main text query." })),
  item: Type.Optional(Type.String({ description: "With imageAs=plus|minus: the main item query." })),
  imageAs: Type.Optional(
    StringEnum(["query", "plus", "minus"], { description: "How the uploaded image enters the query: as the main query (default), or as a plus or minus term." }),
  ),
  imageWeight: Type.Optional(Type.Number({ description: "The image term's weight (default 1) with imageAs=plus|minus." })),
  plus: Type.Optional(Type.String({ description: 'Plus terms as a JSON array, e.g. [{"text":"a beach"}].' })),
  minus: Type.Optional(Type.String({ description: 'Minus terms as a JSON array, e.g. [{"text":"grass","weight":0.5}].' })),
});

/** The multipart field names of POST /api/v1/search/image besides the image (and its alias). */
export const SEARCH_IMAGE_FIELDS: readonly string[] = Object.keys(SearchImageBodySchema.properties).filter((f) => f !== "image");
