/**
 * Error text written for the UI: the server's messages are written for every client (they say
 * `clipdb index build`, `--index exact`, and quote ids in backticks); here they become what a
 * person looking at the page can do.
 */
import type { ApiError } from "./api.js";

/** Context that makes a message precise: the name of the uploaded file, when there was one. */
export interface MessageContext {
  upload?: string;
}

/** Codes of an upload that could not be used: the UI offers to pick another file. */
export const UPLOAD_CODES = new Set(["IMAGE_DECODE", "IMAGE_TOO_LARGE", "UNSUPPORTED_MEDIA", "PAYLOAD_TOO_LARGE"]);

/** The message to show for an API error. */
export function uiMessage(e: ApiError, ctx: MessageContext = {}): string {
  const file = ctx.upload ? `“${ctx.upload}”` : "This file";
  switch (e.code) {
    case "IMAGE_DECODE":
      return `${file} could not be read as an image. It may be damaged or in a format the server cannot decode; pick another image.`;
    case "IMAGE_TOO_LARGE":
      return `${file} has too many pixels for this server. Pick a smaller image.`;
    case "UNSUPPORTED_MEDIA":
      return `${file} is not an image type the server accepts (JPEG, PNG, WebP, GIF, AVIF or TIFF). Pick another image.`;
    case "PAYLOAD_TOO_LARGE":
      return `${file} is larger than this server accepts. Pick a smaller image.`;
    case "INDEX_NOT_BUILT":
      return "That index has not been built for this collection yet. Choose Auto or Exact above, or build the index from a terminal (clipdb index build).";
    default:
      return plain(e.message);
  }
}

/** A server message without CLI flags or backticks. */
export function plain(message: string): string {
  return message
    .replace(/(?:search|searching) with --index exact/g, "choose the Exact index above")
    .replace(/--index (\w+)/g, "the $1 index")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/--([a-z][a-z-]+)/g, "the $1 option");
}
