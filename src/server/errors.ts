import { ClipdbError, type ErrorCode } from "../core/errors.js";
import type { Static } from "@sinclair/typebox";
import type { ErrorResponseSchema } from "./schemas.js";
import { hidePaths } from "./views.js";

/**
 * The one table that maps clipdb error codes to HTTP statuses. Only the server layer knows HTTP.
 * `Record<ErrorCode, …>` makes the compiler insist on a status for every code in core/errors.ts.
 */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  DIM_MISMATCH: 400,
  INVALID_VECTOR: 400,
  MODEL_MISMATCH: 400,
  NO_MODEL: 400,
  UNAUTHORIZED: 401,
  // A Host the server does not answer to (DNS rebinding), or a cross-origin write (CSRF).
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  DUPLICATE_ID: 409,
  INDEX_NOT_TRAINED: 409,
  INDEX_NOT_BUILT: 409,
  // A damaged index is a state of the collection the client can route around (index exact/auto).
  INDEX_CORRUPT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA: 415,
  IMAGE_DECODE: 422,
  IMAGE_TOO_LARGE: 422,
  INTERNAL: 500,
  STORE_CORRUPT: 500,
  // The server's disk is full (507 Insufficient Storage), or its files cannot be read or written.
  DISK_FULL: 507,
  STORE_IO: 500,
  // Another writer held the collection past the busy timeout: retry.
  LOCK_TIMEOUT: 503,
  // The database server of a postgres:// collection is down, unreachable or lacks pgvector.
  STORE_UNAVAILABLE: 503,
  MODEL_UNAVAILABLE: 503,
  DEVICE_UNAVAILABLE: 503,
  INTERRUPTED: 503,
  // Too many uploads at once: sent with Retry-After.
  BUSY: 503,
};

/** The JSON body of every error response (see ErrorResponseSchema in schemas.ts). */
export type ErrorBody = Static<typeof ErrorResponseSchema>;

/** A mapped error: HTTP status plus the JSON body to send. */
export interface HttpError {
  status: number;
  body: ErrorBody;
}

/** Largest JSON body accepted (search queries, vectors): 1 MiB. Uploads have their own limit. */
export const JSON_BODY_LIMIT = 1024 * 1024;

/** Message sent for every 5xx that is not a clipdb user error; details go to the server log only. */
export const GENERIC_INTERNAL = "Internal server error. The details are in the server log.";

/** Fixed client-facing messages for server-side failures (the full message goes to the log). */
const SERVER_SIDE_MESSAGES: Partial<Record<ErrorCode, string>> = {
  MODEL_UNAVAILABLE: "The embedding model is not available on the server, so queries by text or image cannot be embedded. Search by item or vector, or see the server log.",
  INTERRUPTED: "The server is shutting down. Retry in a moment.",
  INDEX_CORRUPT: "An index file of this collection is damaged or missing. Search with index 'exact' (or 'auto'), or rebuild the index with 'clipdb index build'.",
  STORE_CORRUPT: "The collection cannot be read. See the server log.",
  DISK_FULL: "The server's disk is full, so nothing was written. Retry once space is freed.",
  STORE_IO: "The server cannot read or write the collection's files. See the server log.",
  LOCK_TIMEOUT: "The collection is busy with another writer. Retry in a moment.",
  // Its message names the store's location, which may be a database URL with a password.
  STORE_UNAVAILABLE: "The collection's store cannot be reached. Retry in a moment, or see the server log.",
};

/**
 * Errors raised by Fastify and its plugins (body parsing, validation, multipart limits), mapped to
 * clipdb codes so that clients see one error vocabulary.
 */
const FASTIFY_CODES: Record<string, { code: ErrorCode; status: number; message?: string }> = {
  FST_ERR_VALIDATION: { code: "INVALID_ARGUMENT", status: 400 },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "INVALID_ARGUMENT", status: 400, message: "The request body is not valid JSON." },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: "INVALID_ARGUMENT",
    status: 400,
    message: "The request body is empty; send a JSON object.",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "INVALID_ARGUMENT", status: 400, message: "Content-Length does not match the body." },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "PAYLOAD_TOO_LARGE", status: 413 },
  FST_REQ_FILE_TOO_LARGE: { code: "PAYLOAD_TOO_LARGE", status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "UNSUPPORTED_MEDIA", status: 415 },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: "UNSUPPORTED_MEDIA", status: 415 },
  FST_FILES_LIMIT: { code: "INVALID_ARGUMENT", status: 400, message: "Send at most one file per request." },
  FST_PARTS_LIMIT: { code: "INVALID_ARGUMENT", status: 400, message: "Too many multipart parts in the request." },
  FST_FIELDS_LIMIT: { code: "INVALID_ARGUMENT", status: 400, message: "Too many multipart fields in the request." },
  FST_INVALID_JSON_FIELD_ERROR: { code: "INVALID_ARGUMENT", status: 400, message: "A multipart field declared as JSON is not valid JSON." },
  FST_PROTO_VIOLATION: { code: "INVALID_ARGUMENT", status: 400, message: "Forbidden multipart field name." },
  FST_ERR_BAD_URL: {
    code: "INVALID_ARGUMENT",
    status: 400,
    message: "The URL is not valid: it has a '%' that does not start valid UTF-8 percent-encoding. Encode ids with encodeURIComponent.",
  },
  FST_ERR_MAX_PARAM_LENGTH: { code: "INVALID_ARGUMENT", status: 414, message: "The URL is too long: a path parameter is longer than 2048 characters." },
};

/** Errors of a request body that ended early: the client closed the connection, or sent less than its Content-Length. */
const CUT_BODY_CODES = new Set(["ERR_STREAM_PREMATURE_CLOSE", "ECONNRESET", "ECONNABORTED", "ERR_STREAM_DESTROYED"]);
const CUT_BODY_MESSAGE =
  "The request body ended before it was complete: the client closed the connection, or sent fewer bytes than its Content-Length.";

/** Context of toHttpError. */
export interface HttpErrorOptions {
  /** The request's id, put into the body (and quoted in 5xx messages). */
  requestId?: string;
  /** True when the request body was not fully received: stream errors are then the client's. */
  bodyIncomplete?: boolean;
  /** Server folders (collection, model) to show by their names in messages. */
  folders?: readonly (string | null | undefined)[];
}

interface ErrorLike {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/** One Ajv error as Fastify attaches it to a validation error. */
interface AjvIssue {
  keyword?: string;
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/**
 * The message of a schema validation error, naming the field: an unknown field is
 * "unknown field 'x' in the body", a bad value is "'k' must be <= 200" (Ajv's wording).
 */
function validationMessage(e: ErrorLike): string {
  const issues = Array.isArray(e.validation) ? (e.validation as AjvIssue[]) : [];
  const where = typeof e.validationContext === "string" ? e.validationContext : "body";
  const parts = issues.map((v) => {
    const path = (v.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".");
    if (v.keyword === "additionalProperties" && typeof v.params?.additionalProperty === "string") {
      const field = path ? `${path}.${v.params.additionalProperty}` : v.params.additionalProperty;
      return `unknown field '${field}' in the ${where}`;
    }
    if (v.keyword === "required" && typeof v.params?.missingProperty === "string") {
      return `missing field '${v.params.missingProperty}' in the ${where}`;
    }
    return path ? `'${path}' ${v.message ?? "is not valid"}` : `${where} ${v.message ?? "is not valid"}`;
  });
  return parts.length > 0 ? parts.join("; ") : String(e.message);
}

/**
 * Maps any thrown value to a status and a JSON error body. ClipdbErrors use STATUS_BY_CODE; Fastify's
 * own errors use their code; other 4xx errors keep their status; a body cut by the client is 400;
 * everything else is a 500 with a generic message. Never includes a stack trace, and never a 5xx
 * message, which may name server paths; 4xx messages name the collection and model folders by name.
 *
 * @param err the thrown value
 * @param uploadLimit the configured upload limit in bytes, quoted in 413 messages
 * @param opts the request id, whether the body was cut, and the folders to hide
 */
export function toHttpError(err: unknown, uploadLimit: number, opts: HttpErrorOptions = {}): HttpError {
  const mapped = mapError(err, uploadLimit, opts);
  const { requestId } = opts;
  if (mapped.status < 500) mapped.body.error.message = hidePaths(mapped.body.error.message, opts.folders ?? []);
  else if (requestId && mapped.body.error.message === GENERIC_INTERNAL) {
    mapped.body.error.message = `Internal server error. The details are in the server log, under request id ${requestId}.`;
  }
  if (requestId) mapped.body.error.requestId = requestId;
  return mapped;
}

function mapError(err: unknown, uploadLimit: number, opts: HttpErrorOptions): HttpError {
  if (err instanceof ClipdbError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    // 5xx messages can name server paths (index files, model folders): clients get a fixed text.
    const message = status >= 500 && err.code !== "BUSY" ? (SERVER_SIDE_MESSAGES[err.code] ?? GENERIC_INTERNAL) : err.message;
    return { status, body: { error: { code: err.code, message } } };
  }
  const e = (typeof err === "object" && err !== null ? err : {}) as ErrorLike;
  const fcode = typeof e.code === "string" ? e.code : "";
  const mapped = FASTIFY_CODES[fcode];
  if (mapped) {
    let message = mapped.message ?? (typeof e.message === "string" ? e.message : "Bad request.");
    if (mapped.code === "PAYLOAD_TOO_LARGE") {
      const limit = fcode === "FST_ERR_CTP_BODY_TOO_LARGE" ? JSON_BODY_LIMIT : uploadLimit;
      message = new ClipdbError("PAYLOAD_TOO_LARGE", { limit }).message;
    }
    if (mapped.code === "UNSUPPORTED_MEDIA" && !mapped.message) {
      message = "Unsupported Content-Type. Send application/json, or multipart/form-data for uploads.";
    }
    if (fcode === "FST_ERR_VALIDATION") message = `Invalid request: ${validationMessage(e)}.`;
    return { status: mapped.status, body: { error: { code: mapped.code, message } } };
  }
  if (opts.bodyIncomplete && (CUT_BODY_CODES.has(fcode) || /^(aborted|premature close)$/i.test(String(e.message ?? "")))) {
    return { status: 400, body: { error: { code: "INVALID_ARGUMENT", message: CUT_BODY_MESSAGE } } };
  }
  const status = typeof e.statusCode === "number" ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Other client errors from Fastify or busboy (malformed multipart, bad URL encoding, ...).
    // 403 comes from the static file server refusing a path (dotfile, outside the root): say 404.
    if (status === 404 || status === 403) {
      return { status: 404, body: { error: { code: "NOT_FOUND", message: "Not found." } } };
    }
    const code: ErrorCode = status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA" : "INVALID_ARGUMENT";
    const message = typeof e.message === "string" && e.message ? `${e.message}.`.replace(/\.\.$/, ".") : "Bad request.";
    return { status: STATUS_BY_CODE[code], body: { error: { code, message } } };
  }
  if (isBusboyClientError(e)) {
    return { status: 400, body: { error: { code: "INVALID_ARGUMENT", message: `Malformed multipart body: ${String(e.message)}.` } } };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: GENERIC_INTERNAL } } };
}

/** busboy throws plain Errors for truncated or malformed multipart bodies; they are the client's fault. */
function isBusboyClientError(e: ErrorLike): boolean {
  const m = typeof e.message === "string" ? e.message : "";
  return /^(Unexpected end of (form|file)|Malformed part header|Multipart: Boundary not found|Unexpected end of multipart data|Part terminated early)/i.test(m);
}
