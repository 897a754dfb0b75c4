/**
 * Bounded top-k selection by score, highest first, ties broken by the smaller offset.
 * A binary min-heap of size k: O(n log k) to push n candidates. Deterministic for equal scores.
 */
export class TopK {
  private readonly offs: Uint32Array;
  private readonly scs: Float32Array;
  private n = 0;

  /** k: number of results kept (k >= 0). */
  constructor(readonly k: number) {
    this.offs = new Uint32Array(Math.max(k, 1));
    this.scs = new Float32Array(Math.max(k, 1));
  }

  /** Number of results held (at most k). */
  get size(): number {
    return this.n;
  }

  /** Score of the current worst kept result, or -Infinity while fewer than k are held. */
  get threshold(): number {
    return this.n < this.k ? -Infinity : this.scs[0];
  }

  /** "a is worse than b": lower score, or equal score and larger offset. */
  private worse(sa: number, oa: number, sb: number, ob: number): boolean {
    return sa < sb || (sa === sb && oa > ob);
  }

  /** Offers one candidate. */
  push(offset: number, score: number): void {
    if (this.k === 0) return;
    if (this.n < this.k) {
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(score, offset, this.scs[p], this.offs[p])) break;
        this.scs[i] = this.scs[p];
        this.offs[i] = this.offs[p];
        i = p;
      }
      this.scs[i] = score;
      this.offs[i] = offset;
      return;
    }
    if (!this.worse(this.scs[0], this.offs[0], score, offset)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && this.worse(this.scs[r], this.offs[r], this.scs[l], this.offs[l]) ? r : l;
      if (!this.worse(this.scs[c], this.offs[c], score, offset)) break;
      this.scs[i] = this.scs[c];
      this.offs[i] = this.offs[c];
      i = c;
    }
    this.scs[i] = score;
    this.offs[i] = offset;
  }

  /** The results, best first. */
  result(): Hits {
    const idx = Array.from({ length: this.n }, (_, i) => i);
    idx.sort((a, b) => (this.scs[b] - this.scs[a]) || (this.offs[a] - this.offs[b]));
    const offsets = new Uint32Array(this.n);
    const scores = new Float32Array(this.n);
    idx.forEach((j, i) => {
      offsets[i] = this.offs[j];
      scores[i] = this.scs[j];
    });
    return { offsets, scores };
  }
}

/** Search results: parallel arrays, best first. `scanned` counts vectors scored, when known. */
export interface Hits {
  offsets: Uint32Array;
  scores: Float32Array;
  scanned?: number;
}
