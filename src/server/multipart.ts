import type { Readable } from "node:stream";
import type { FastifyRequest } from "fastify";
import { ClipdbError } from "../core/errors.js";

/**
 * Image types accepted in uploads. `application/octet-stream` (and no type) is accepted too and
 * left to the decoder, which answers 422 when the bytes are not an image. SVG is refused on purpose.
 */
export const IMAGE_TYPES: readonly string[] = [
  "image/jpeg",
  "image/jpg",
  "image/pjpeg",
  "image/png",
  "image/webp",
  "image/gif",
  "image/avif",
  "image/tiff",
];

/** One uploaded file, fully buffered (its size is capped by the upload limit). */
export interface UploadedFile {
  field: string;
  filename: string;
  mime: string;
  data: Buffer;
}

/** A parsed multipart form: text fields, and at most one file. */
export interface Form {
  fields: Record<string, string>;
  file?: UploadedFile;
}

/** True when a part's declared type may be an image we decode. */
export function isAcceptedImageType(mime: string | undefined): boolean {
  const m = (mime ?? "").split(";")[0].trim().toLowerCase();
  return m === "" || m === "application/octet-stream" || IMAGE_TYPES.includes(m);
}

/**
 * The field names that may carry the image of an upload, on every route: `image` (documented),
 * and `file`, accepted as an alias (the image search route's name before 0.2).
 */
export const IMAGE_FIELDS: readonly string[] = ["image", "file"];

/**
 * Reads a multipart/form-data request: text fields plus one image file in one of `fileFields`
 * (default IMAGE_FIELDS).
 * The file is checked for an image type before it is read (415), and read with the upload limit
 * (413). Non-multipart requests get UNSUPPORTED_MEDIA (415).
 *
 * @param req the request (the multipart plugin must be registered)
 * @param fileFields the field names that may carry a file
 * @param limit the upload limit in bytes (the plugin's fileSize limit), quoted in the 413
 * @throws ClipdbError UNSUPPORTED_MEDIA, INVALID_ARGUMENT, PAYLOAD_TOO_LARGE
 */
export async function readForm(req: FastifyRequest, limit: number, fileFields: readonly string[] = IMAGE_FIELDS): Promise<Form> {
  if (!req.isMultipart()) {
    const type = String(req.headers["content-type"] ?? "none").split(";")[0];
    throw new ClipdbError("UNSUPPORTED_MEDIA", { type });
  }
  const form: Form = { fields: {} };
  for await (const part of req.parts()) {
    if (part.type === "file") {
      if (!fileFields.includes(part.fieldname)) {
        throw new ClipdbError("INVALID_ARGUMENT", {
          name: part.fieldname,
          reason: "unexpected file field",
          hint: `Send the image in the '${fileFields[0]}' field.`,
        });
      }
      if (form.file) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: part.fieldname, reason: "a second file", hint: "Send one image per request." });
      }
      if (!isAcceptedImageType(part.mimetype)) throw new ClipdbError("UNSUPPORTED_MEDIA", { type: part.mimetype });
      const data = await readFile(part.file, Number(req.headers["content-length"]) || 0, limit);
      form.file = { field: part.fieldname, filename: part.filename || "upload", mime: part.mimetype, data };
    } else {
      if (part.valueTruncated || part.fieldnameTruncated) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: part.fieldname, reason: "field is too long (limit 256 KB)" });
      }
      const v = part.value;
      form.fields[part.fieldname] = typeof v === "string" ? v : JSON.stringify(v);
    }
  }
  return form;
}

/**
 * Reads a file part into one buffer sized from the request's Content-Length (capped by the limit),
 * so an upload costs its size once, not chunks plus their concatenation.
 *
 * @throws ClipdbError PAYLOAD_TOO_LARGE when the part was cut at the limit
 */
async function readFile(file: Readable & { truncated?: boolean }, sizeHint: number, limit: number): Promise<Buffer> {
  let buf = Buffer.allocUnsafeSlow(Math.max(64 * 1024, Math.min(sizeHint, limit)));
  let len = 0;
  for await (const chunk of file as AsyncIterable<Buffer>) {
    if (file.truncated) break;
    if (len + chunk.length > buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.min(Math.max(buf.length * 2, len + chunk.length), limit + chunk.length));
      buf.copy(grown, 0, 0, len);
      buf = grown;
    }
    chunk.copy(buf, len);
    len += chunk.length;
  }
  if (file.truncated) {
    file.resume();
    throw new ClipdbError("PAYLOAD_TOO_LARGE", { limit });
  }
  return len === buf.length ? buf : buf.subarray(0, len);
}
