/**
 * Seeded pseudo-random numbers for the generated test models.
 *
 * Every tensor draws from its own stream, seeded from (model seed, tensor name), so a tensor's
 * values do not depend on the order in which tensors are built: same seed -> same bytes.
 */

/** FNV-1a hash of a string, 32-bit. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small, fast, seeded generator (mulberry32) with uniform and normal draws. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream for one named tensor of a model seeded with `seed`. */
  static forTensor(seed: number, name: string): Rng {
    return new Rng(Math.imul(seed >>> 0, 0x9e3779b1) ^ hashString(name));
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Fills `out` with N(mean, std) values (Box-Muller) and returns it. */
  fillNormal(out: Float32Array, std: number, mean = 0): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.uniform(); // (0, 1]
      const u2 = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u1)) * std;
      out[i] = mean + r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }
}
