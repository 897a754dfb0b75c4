/**
 * pgvector's binary wire format, so vectors travel as float32 bits (exact, no decimal text):
 * a `vector` is int16 dim, int16 unused, then dim float4, all big-endian (vector_send/vector_recv).
 * Vectors go in as one binary `vector[]` parameter per batch and come back as `vector_send(...)`
 * bytea values, so nothing is rounded through decimal text either way.
 */

/**
 * The binary Postgres array (one dimension, no nulls) of `xs.length / dim` vectors, for a
 * `$n::vector[]` parameter; `vectorOid` is the oid of the vector type in this database.
 * Cost: one copy of the batch plus 8 bytes per vector and 20 per array.
 */
export function encodeVectorArray(xs: Float32Array, dim: number, vectorOid: number): Buffer {
  const n = xs.length / dim;
  const rowBytes = 4 * dim;
  const out = Buffer.alloc(20 + n * (8 + rowBytes));
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(0, 4); // no nulls
  out.writeUInt32BE(vectorOid, 8);
  out.writeInt32BE(n, 12);
  out.writeInt32BE(1, 16); // lower bound
  const src = Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength);
  let at = 20;
  for (let r = 0; r < n; r++) {
    out.writeInt32BE(4 + rowBytes, at);
    out.writeInt16BE(dim, at + 4);
    out.writeInt16BE(0, at + 6);
    src.copy(out, at + 8, r * rowBytes, (r + 1) * rowBytes);
    out.subarray(at + 8, at + 8 + rowBytes).swap32(); // little-endian float32 -> network order
    at += 8 + rowBytes;
  }
  return out;
}

/**
 * Copies the floats of one `vector_send` value into `out` at row `row` (dim floats), checking its
 * dimension; returns false when the value is not a vector of `dim`.
 */
export function decodeVectorInto(bytes: Buffer, dim: number, out: Float32Array, row: number): boolean {
  if (bytes.length !== 4 + 4 * dim || bytes.readInt16BE(0) !== dim) return false;
  const target = Buffer.from(out.buffer, out.byteOffset + row * dim * 4, dim * 4);
  bytes.copy(target, 0, 4);
  target.swap32(); // network order -> little-endian float32
  return true;
}
