/**
 * The fixed 64-byte header of clipdb's own index files (Flat, IVF, and the trailer of HNSW files):
 * an 8-byte magic, a u32 format version, up to 12 more little-endian u32 fields, and a CRC32 of the
 * first 60 bytes in the last 4. Values above 2^32 are stored as two fields (low, high).
 */
import { ClipdbError } from "../core/errors.js";
import { corrupt, crc32 } from "./fileio.js";

/** Size of every clipdb index header, in bytes. */
export const HEADER_BYTES = 64;

const MAX_FIELDS = 12;

/** Encodes a header: `magic` (8 ASCII chars), `version`, then `fields` (u32 each, at most 12). */
export function encodeHeader(magic: string, version: number, fields: number[]): Uint8Array {
  if (magic.length !== 8 || fields.length > MAX_FIELDS) throw new ClipdbError("INTERNAL", { reason: `an index header needs an 8-character magic and at most ${MAX_FIELDS} fields` });
  const b = new Uint8Array(HEADER_BYTES);
  const v = new DataView(b.buffer);
  for (let i = 0; i < 8; i++) b[i] = magic.charCodeAt(i);
  v.setUint32(8, version, true);
  fields.forEach((f, i) => v.setUint32(12 + 4 * i, f >>> 0, true));
  v.setUint32(60, crc32(b.subarray(0, 60)), true);
  return b;
}

/** The 8-byte magic at the start of `b` as a string ('' if shorter). */
export function magicOf(b: Uint8Array): string {
  return b.length < 8 ? "" : String.fromCharCode(...b.subarray(0, 8));
}

/**
 * Decodes and checks a header read from `file`: magic, header checksum and version. Returns the
 * fields after the version. Any mismatch is INDEX_CORRUPT naming the file.
 */
export function decodeHeader(b: Uint8Array, file: string, magic: string, version: number | readonly number[]): number[] {
  if (b.length < HEADER_BYTES) throw corrupt(file, `truncated header (${b.length} of ${HEADER_BYTES} bytes)`);
  const got = magicOf(b);
  if (got !== magic) throw corrupt(file, `not a clipdb ${magic} index (magic ${JSON.stringify(got)})`);
  const v = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
  if (v.getUint32(60, true) !== crc32(b.subarray(0, 60))) throw corrupt(file, "header checksum mismatch");
  const ver = v.getUint32(8, true);
  const ok = typeof version === "number" ? [version] : version;
  if (!ok.includes(ver)) throw corrupt(file, `format version ${ver}, this build reads version ${ok.join(" or ")}`);
  return Array.from({ length: MAX_FIELDS }, (_, i) => v.getUint32(12 + 4 * i, true));
}

/** The format version field of a header (unchecked: `decodeHeader` checks it). */
export function versionOf(b: Uint8Array): number {
  return b.length >= 12 ? new DataView(b.buffer, b.byteOffset, 12).getUint32(8, true) : 0;
}

/** Splits a safe integer into (low, high) u32 fields. */
export function split64(n: number): [number, number] {
  return [n % 2 ** 32, Math.floor(n / 2 ** 32)];
}

/** Joins (low, high) u32 fields back into a number. */
export function join64(lo: number, hi: number): number {
  return hi * 2 ** 32 + lo;
}
