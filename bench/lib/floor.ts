/**
 * The memory-bandwidth floor: the time one core needs to read the same bytes once, measured two
 * ways and the faster kept: a WebAssembly SIMD sum (f32x4 adds, four accumulators) over a copy of
 * the vectors in wasm memory, and a native memcmp (Buffer.compare) of two equal buffers of half
 * the bytes each. It is an estimate of the floor for a single-threaded scan, not a search.
 */
import { quantile } from "./stats.js";

const leb = (n: number): number[] => {
  const o: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    o.push(b);
  } while (n);
  return o;
};
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
const name = (s: string): number[] => [s.length, ...Buffer.from(s)];
const add = [0xfd, 0xe4, 0x01]; // f32x4.add
const acc = (local: number, offset: number): number[] => [0x20, local, 0x20, 0x00, 0xfd, 0x00, 0x04, offset, ...add, 0x21, local];

/** sum(ptr, end): f32 sum of the bytes [ptr, end) as f32x4 lanes, 64 bytes per iteration. */
function sumModule(): Uint8Array<ArrayBuffer> {
  const body = [
    0x01, 0x04, 0x7b, // four v128 locals (2..5)
    0x02, 0x40, 0x03, 0x40, // block, loop
    0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, // if ptr >= end: break
    ...acc(2, 0x00), ...acc(3, 0x10), ...acc(4, 0x20), ...acc(5, 0x30),
    0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, // ptr += 64
    0x0c, 0x00, 0x0b, 0x0b, // continue; end loop; end block
    0x20, 0x02, 0x20, 0x03, ...add, 0x20, 0x04, ...add, 0x20, 0x05, ...add,
    0xfd, 0x1f, 0x00, 0x0b, // f32x4.extract_lane 0; end
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7d]),
    ...section(2, [1, ...name("e"), ...name("m"), 0x02, 0x00, 0x01]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("sum"), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** Median single-pass read time (ms) of `xs`, and the method that gave it. */
export async function measureFloor(xs: Float32Array, reps = 15): Promise<{ ms: number; gbps: number; method: string; wasmMs: number; memcmpMs: number }> {
  const bytes = xs.byteLength - (xs.byteLength % 64);
  const mem = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 1 });
  new Uint8Array(mem.buffer, 0, bytes).set(new Uint8Array(xs.buffer, xs.byteOffset, bytes));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(sumModule()), { e: { m: mem } });
  const sum = instance.exports.sum as (p: number, e: number) => number;
  const time = (f: () => unknown): number => {
    f();
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      f();
      ts.push(performance.now() - t);
    }
    return quantile(ts, 0.5);
  };
  const wasmMs = time(() => sum(0, bytes));
  const half = Math.floor(bytes / 2);
  const a = Buffer.from(mem.buffer, 0, half);
  const b = Buffer.from(Buffer.from(mem.buffer, 0, half));
  const memcmpMs = time(() => Buffer.compare(a, b));
  const ms = Math.min(wasmMs, memcmpMs);
  return { ms, gbps: bytes / ms / 1e6, method: ms === wasmMs ? "wasm-simd-sum" : "memcmp", wasmMs, memcmpMs };
}
