/**
 * The one error class of clipdb, with a closed set of codes kept in one table.
 *
 * Every message says what went wrong and how to fix it. `kind` tells a caller whether the
 * user can fix it ("user") or it is a bug or environment failure ("internal"). Only the
 * server layer maps codes to HTTP statuses.
 */

/** Details carried by an error; rendered into the message by the code's template. */
export type ErrorDetails = Record<string, unknown>;

interface CodeSpec {
  kind: "user" | "internal";
  message: (d: ErrorDetails) => string;
}

const s = (v: unknown): string => (v === undefined ? "?" : String(v));

/** The table of codes: kind and message template. Add a code here, nowhere else. */
export const ERROR_CODES = {
  INVALID_ARGUMENT: {
    kind: "user",
    message: (d) => `Invalid argument${d.name ? ` '${s(d.name)}'` : ""}: ${s(d.reason)}.${d.hint ? ` ${s(d.hint)}` : ""}`,
  },
  DIM_MISMATCH: {
    kind: "user",
    message: (d) =>
      `Vector dimension mismatch: expected ${s(d.expected)}, got ${s(d.got)}${d.where ? ` (${s(d.where)})` : ""}. ` +
      `A collection holds vectors of one dimension only: use the collection's model, or create a new collection for this one.`,
  },
  MODEL_MISMATCH: {
    kind: "user",
    message: (d) =>
      `This collection was embedded with model '${s(d.expected)}', not '${s(d.got)}'. ` +
      `Vectors from different models are not comparable: omit --model to use the collection's own, or use a new collection.`,
  },
  INVALID_VECTOR: {
    kind: "user",
    message: (d) => `Invalid vector: ${s(d.reason)}. Vectors must be finite float32 values with a non-zero norm.`,
  },
  NOT_FOUND: {
    kind: "user",
    message: (d) =>
      (d.route !== undefined
        ? `No route or file at ${s(d.route)}.`
        : d.at !== undefined
          ? `No ${s(d.what ?? "item")} at '${s(d.at)}'.`
          : `No ${s(d.what ?? "item")} with id '${s(d.id)}'.`) + (d.hint ? ` ${s(d.hint)}` : ""),
  },
  DUPLICATE_ID: {
    kind: "user",
    message: (d) => `An item with id '${s(d.id)}' already exists. Remove it first or choose another id.`,
  },
  INDEX_NOT_TRAINED: {
    kind: "user",
    message: (d) => `The ${s(d.index ?? "IVF")} index is not trained. Call train() (or 'clipdb index build') before add().`,
  },
  INDEX_NOT_BUILT: {
    kind: "user",
    message: (d) =>
      `No ${s(d.type)} index has been built for this collection${d.modality ? `'s ${s(d.modality)} items` : ""}. ` +
      `Run 'clipdb index build --type ${s(d.type)}' or search with --index exact (or auto).`,
  },
  INDEX_CORRUPT: {
    kind: "user",
    message: (d) =>
      `Index file '${s(d.path)}' is unreadable: ${s(d.reason)}. ` +
      (d.type
        ? `Rebuild it with 'clipdb index build --type ${s(d.type)}' (or remove it with 'clipdb index drop --type ${s(d.type)}')`
        : "Rebuild it with 'clipdb index build'") +
      `; the items and vectors in the collection are intact, and exact search (--index exact) still works.`,
  },
  STORE_CORRUPT: {
    kind: "user",
    message: (d) => `Collection at '${s(d.path)}' cannot be opened: ${s(d.reason)}.${d.hint ? ` ${s(d.hint)}` : ""}`,
  },
  STORE_UNAVAILABLE: {
    kind: "user",
    message: (d) => `The store at '${s(d.location)}' is unavailable: ${s(d.reason)}.${d.hint ? ` ${s(d.hint)}` : ""}`,
  },
  IMAGE_DECODE: {
    kind: "user",
    message: (d) => `Cannot decode image '${s(d.file)}': ${s(d.reason)}. Check that the file is a complete JPEG, PNG, WebP, GIF, AVIF or TIFF.`,
  },
  IMAGE_TOO_LARGE: {
    kind: "user",
    message: (d) =>
      `Image '${s(d.file)}' has ${s(d.pixels)} pixels, above the limit of ${s(d.limit)}. Downscale it, or raise the pixel limit if you trust the file.`,
  },
  UNSUPPORTED_MEDIA: {
    kind: "user",
    message: (d) => `Unsupported media type '${s(d.type)}'. ${d.hint ? s(d.hint) : "Send an image (JPEG, PNG, WebP, GIF, AVIF, TIFF) or text."}`,
  },
  PAYLOAD_TOO_LARGE: {
    kind: "user",
    message: (d) => `Upload is larger than the limit of ${s(d.limit)} bytes. Send a smaller file or raise the limit.`,
  },
  MODEL_UNAVAILABLE: {
    kind: "user",
    message: (d) =>
      `Model '${s(d.model)}' is not available (searched ${s(d.searched)}): ${s(d.reason)}. ` +
      `Connect to the internet once so it can be downloaded into the cache, or pass a local model folder with --model <folder>.`,
  },
  DEVICE_UNAVAILABLE: {
    kind: "user",
    message: (d) => `Device '${s(d.device)}' is not available: ${s(d.reason)}. ${s(d.hint)}`,
  },
  NO_MODEL: {
    kind: "user",
    message: (d) =>
      `This collection has no usable embedding model${d.model ? ` ('${s(d.model)}')` : ""}, so it cannot embed ${s(d.what ?? "queries")}. ` +
      `Search by --item or --vector-file, or pass --model <id|folder> with a model of the same dimension.`,
  },
  UNAUTHORIZED: {
    kind: "user",
    message: (d) =>
      d.rejected
        ? `The token is not accepted. Send the server's token as 'Authorization: Bearer <token>'.`
        : `This server requires a token for ${s(d.what ?? "writes")}. Send 'Authorization: Bearer <token>'.`,
  },
  FORBIDDEN: {
    kind: "user",
    message: (d) => `Forbidden: ${s(d.reason)}.${d.hint ? ` ${s(d.hint)}` : ""}`,
  },
  BUSY: {
    kind: "user",
    message: (d) => `The server is busy: ${s(d.reason)}. Retry in ${s(d.retryAfter ?? 1)} s.`,
  },
  REQUEST_TIMEOUT: {
    kind: "user",
    message: (d) => `The request was not received in time: ${s(d.reason)}. Send it again, faster or smaller, or raise the server's limit (${s(d.limit)} ms).`,
  },
  INTERRUPTED: {
    kind: "user",
    message: (d) => `Interrupted: ${s(d.reason)}. Committed work is kept; run the command again to finish.`,
  },
  DISK_FULL: {
    kind: "user",
    message: (d) => `The disk holding '${s(d.path)}' is full. Free some space and run the command again; committed batches are kept.`,
  },
  LOCK_TIMEOUT: {
    kind: "user",
    message: (d) => `The collection at '${s(d.path)}' stayed locked by another writer past the wait (${s(d.reason)}). Wait for the other process to finish, then retry.`,
  },
  STORE_IO: {
    kind: "user",
    message: (d) => `Cannot read or write '${s(d.path)}' (${s(d.reason)}). Check the file's permissions and the disk.`,
  },
  INTERNAL: {
    kind: "internal",
    message: (d) => `Internal error: ${s(d.reason)}. Please report it with the command that caused it.`,
  },
} satisfies Record<string, CodeSpec>;

/** A clipdb error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The error thrown by every clipdb layer.
 * Example: `new ClipdbError("DIM_MISMATCH", { expected: 512, got: 768 })`.
 */
export class ClipdbError extends Error {
  readonly code: ErrorCode;
  readonly kind: "user" | "internal";
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, details: ErrorDetails = {}, options: { cause?: unknown } = {}) {
    const spec: CodeSpec = ERROR_CODES[code];
    super(spec.message(details), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ClipdbError";
    this.code = code;
    this.kind = spec.kind;
    this.details = details;
  }
}

/** True when `e` is a ClipdbError, optionally with the given code. */
export function isClipdbError(e: unknown, code?: ErrorCode): e is ClipdbError {
  return e instanceof ClipdbError && (code === undefined || e.code === code);
}
