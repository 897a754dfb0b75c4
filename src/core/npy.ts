import { ClipdbError } from "./errors.js";

/** A 2-D float32 matrix read from a file. */
export interface Matrix {
  rows: number;
  dim: number;
  data: Float32Array;
}

/**
 * Parses a NumPy `.npy` file (v1-v3) holding a 2-D C-order array of little-endian float32 or
 * float16 (converted to float32). Anything else gives INVALID_ARGUMENT saying what was found.
 */
export function parseNpy(buf: Buffer, name = "npy file"): Matrix {
  const bad = (reason: string) => new ClipdbError("INVALID_ARGUMENT", { name, reason, hint: "Save a 2-D float32 or float16 C-order array with numpy.save." });
  if (buf.length < 10 || buf.subarray(0, 6).toString("latin1") !== "\x93NUMPY") throw bad("not a .npy file");
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + hlen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1].split(",").map((x) => x.trim()).filter(Boolean).map(Number);
  if (!descr || !shape) throw bad("unreadable header");
  if (fortran) throw bad("Fortran order is not supported");
  if (shape.length !== 2) throw bad(`shape (${shape.join(", ")}) is not 2-D`);
  const [rows, dim] = shape;
  const body = buf.subarray(start + hlen);
  if (descr === "<f4") {
    if (body.length < rows * dim * 4) throw bad(`truncated: ${body.length} bytes for ${rows}x${dim} float32`);
    const data = new Float32Array(rows * dim);
    Buffer.from(data.buffer).set(body.subarray(0, rows * dim * 4));
    return { rows, dim, data };
  }
  if (descr === "<f2") {
    if (body.length < rows * dim * 2) throw bad(`truncated: ${body.length} bytes for ${rows}x${dim} float16`);
    const data = new Float32Array(rows * dim);
    for (let i = 0; i < data.length; i++) data[i] = halfToFloat(body.readUInt16LE(i * 2));
    return { rows, dim, data };
  }
  throw bad(`dtype '${descr}' is not float32 or float16`);
}

/** Reads raw little-endian float32 rows of `dim` values (a `.f32` file). */
export function parseF32(buf: Buffer, dim: number, name = "f32 file"): Matrix {
  if (!Number.isInteger(dim) || dim <= 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: "a .f32 file needs --dim <n>" });
  if (buf.length % (dim * 4) !== 0) throw new ClipdbError("DIM_MISMATCH", { expected: `a multiple of ${dim * 4} bytes`, got: `${buf.length} bytes`, where: name });
  const data = new Float32Array(buf.length / 4);
  Buffer.from(data.buffer).set(buf);
  return { rows: data.length / dim, dim, data };
}

/** Reads the little-endian int64 or int32 1-D array of a `.npy` file as numbers. */
export function parseNpyInts(buf: Buffer, name = "npy file"): number[] {
  const hlen = buf[6] === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = buf[6] === 1 ? 10 : 12;
  const header = buf.subarray(start, start + hlen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const body = buf.subarray(start + hlen);
  if (descr === "<i8") return Array.from({ length: body.length / 8 }, (_, i) => Number(body.readBigInt64LE(i * 8)));
  if (descr === "<i4") return Array.from({ length: body.length / 4 }, (_, i) => body.readInt32LE(i * 4));
  throw new ClipdbError("INVALID_ARGUMENT", { name, reason: `dtype '${descr}' is not int32 or int64` });
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
