/**
 * The collection's relevance calibration (see src/query/relevance.ts for the method): fitted from
 * the collection's own vectors, persisted in the store's settings (`relevance_calibration`, so it
 * works the same on SQLite and Postgres, and every process shares it), and refitted when the
 * collection changed enough (RECALIBRATE_FRACTION).
 */
import type { Modality } from "../core/types.js";
import type { StoreReader } from "../store/index.js";
import {
  BACKGROUND_SAMPLE, CALIBRATION_PROMPTS, CALIBRATION_QUERIES, background, calibrateDirection, nullTailCurve, relevanceAt, zSide,
  type SearchDirection, type RelevanceCurve,
} from "../query/index.js";

/** A direction's fitted curves and how its z is taken. */
export interface DirectionCalibration {
  /** "query": the query against the target sample; "target": each target against a sample of the query modality. */
  side: "query" | "target";
  free: RelevanceCurve;
  pairs?: RelevanceCurve;
}

/** What is persisted under the setting `relevance_calibration`. */
export interface Calibration {
  version: 1;
  /** Live counts when it was fitted (staleness is judged against them). */
  counts: { images: number; texts: number; pairs: number };
  directions: Partial<Record<SearchDirection, DirectionCalibration>>;
  /** When it was fitted (ISO time). */
  at: string;
}

/** The setting key of the calibration. */
export const CALIBRATION_KEY = "relevance_calibration";

/**
 * A calibration is refitted when the live images, texts or pairs moved by at least this fraction
 * of the count it was fitted on (or by one item while that count was under 5, or from none to
 * some); default 0.2. A refit costs about CALIBRATION_QUERIES × BACKGROUND_SAMPLE dot products
 * per direction (about 1 s in all for 1,000 vectors per modality at 768-d on 2 cores); lower refits more often.
 */
export const RECALIBRATE_FRACTION = 0.2;

/** Whether a count moved enough since calibration (see RECALIBRATE_FRACTION). */
export function moved(was: number, now: number): boolean {
  if (was === now) return false;
  if (was < 5) return true;
  return Math.abs(now - was) >= RECALIBRATE_FRACTION * was;
}

const dirOf = (q: Modality, t: Modality): SearchDirection => (q === "text" ? (t === "image" ? "t2i" : "t2t") : t === "image" ? "i2i" : "i2t");

function stride(n: number, max: number): number[] {
  const step = Math.max(1, n / max);
  const out: number[] = [];
  for (let x = 0; Math.floor(x) < n && out.length < max; x += step) out.push(Math.floor(x));
  return out;
}

/** A background sample of one modality: offsets and their vectors. */
interface Sample {
  offsets: Uint32Array;
  xs: Float32Array;
}

/**
 * Computes, caches and applies the calibration of one collection. `embedTexts` embeds the
 * built-in calibration prompts when the collection holds too few texts to sample text queries
 * from (null when there is no model, as for imported vectors: text→image then uses the
 * uncalibrated "null-tail" curve).
 */
export class RelevanceCalibrator {
  private raw?: string;
  private cal?: Calibration;
  private samples = new Map<Modality, Sample>();
  private checkedGen = -1;

  constructor(
    private readonly store: StoreReader & { setSetting(key: string, value: unknown): Promise<void> },
    private readonly embedTexts: () => Promise<((texts: string[]) => Promise<Float32Array>) | null>,
  ) {}

  /** The current calibration, refitted first when missing or stale. */
  async ensure(dim: number): Promise<Calibration> {
    const gen = await this.store.generation();
    const raw = await this.store.getSettingRaw(CALIBRATION_KEY);
    if (raw !== this.raw || !this.cal) {
      this.raw = raw;
      this.cal = raw ? (JSON.parse(raw) as Calibration) : undefined;
      this.samples.clear();
      this.checkedGen = -1;
    }
    if (this.cal && this.cal.version === 1 && gen === this.checkedGen) return this.cal;
    const counts = await this.store.counts();
    const stale = !this.cal || this.cal.version !== 1 || moved(this.cal.counts.images, counts.images) || moved(this.cal.counts.texts, counts.texts) || moved(this.cal.counts.pairs, counts.pairs);
    if (stale) await this.refit(dim, counts);
    this.checkedGen = gen;
    return this.cal!;
  }

  /** Refits every direction now and stores the result (`clipdb calibrate`). */
  async refit(dim: number, counts?: { images: number; texts: number; pairs: number }): Promise<Calibration> {
    const c = counts ?? (await this.store.counts());
    this.samples.clear();
    const img = await this.sample("image");
    const txt = await this.sample("text");
    const pairs = c.pairs > 0 ? await this.store.pairs() : undefined;
    const partnersOf = new Map<number, number[]>();
    if (pairs) {
      for (let i = 0; i < pairs.image.length; i++) {
        partnersOf.set(pairs.image[i], [...(partnersOf.get(pairs.image[i]) ?? []), pairs.text[i]]);
        partnersOf.set(pairs.text[i], [...(partnersOf.get(pairs.text[i]) ?? []), pairs.image[i]]);
      }
    }
    // Text queries: the collection's texts, else the built-in prompts (which have no pairs).
    let textQueries: { xs: Float32Array; offsets?: number[] } | undefined;
    if (txt.offsets.length >= 20) textQueries = this.pick(txt, dim);
    else {
      const embed = await this.embedTexts().catch(() => null);
      if (embed) textQueries = { xs: await embed(CALIBRATION_PROMPTS) };
    }
    const imageQueries = img.offsets.length ? this.pick(img, dim) : undefined;
    const directions: Calibration["directions"] = {};
    const live = { image: c.images, text: c.texts };
    for (const [qm, tm] of [["text", "image"], ["image", "text"], ["image", "image"], ["text", "text"]] as [Modality, Modality][]) {
      const bg = tm === "image" ? img : txt;
      const queries = qm === "image" ? imageQueries : textQueries;
      const key = dirOf(qm, tm);
      if (bg.offsets.length === 0) continue;
      if (!queries) {
        directions[key] = { side: "query", free: nullTailCurve(live[tm]) };
        continue;
      }
      const same = qm === tm;
      const side = zSide(live[tm], live[qm], same);
      const qbg = qm === "image" ? img : txt;
      const bgRow = new Map<number, number>();
      bg.offsets.forEach((o, i) => bgRow.set(o, i));
      const qOff = queries.offsets;
      const fit = calibrateDirection({
        qs: queries.xs,
        bg: bg.xs,
        dim,
        targets: live[tm],
        selfRow: same && qOff ? (q) => bgRow.get(qOff[q]) : undefined,
        queryBg: side === "target" ? qbg.xs : undefined,
      });
      directions[key] = { side, ...fit };
    }
    // Partner vectors are read in one pass and the pairs-based fits redone with them.
    if (pairs && pairs.image.length > 0) await this.refitPairs(directions, dim, img, txt, imageQueries, textQueries, partnersOf, live);
    const cal: Calibration = { version: 1, counts: c, directions, at: new Date().toISOString() };
    this.cal = cal;
    try {
      await this.store.setSetting(CALIBRATION_KEY, cal);
      this.raw = await this.store.getSettingRaw(CALIBRATION_KEY);
    } catch {
      // A store that cannot be written now (read-only, busy) still gets calibrated relevance: this
      // handle keeps the fit in memory and stores it at a later refit.
    }
    return cal;
  }

  private async refitPairs(
    directions: Calibration["directions"], dim: number, img: Sample, txt: Sample,
    imageQueries: { xs: Float32Array; offsets?: number[] } | undefined,
    textQueries: { xs: Float32Array; offsets?: number[] } | undefined,
    partnersOf: Map<number, number[]>, live: { image: number; text: number },
  ): Promise<void> {
    for (const [qm, tm] of [["text", "image"], ["image", "text"], ["text", "text"]] as [Modality, Modality][]) {
      const key = dirOf(qm, tm);
      const queries = qm === "image" ? imageQueries : textQueries;
      const d = directions[key];
      if (!d || !queries?.offsets) continue;
      const same = qm === tm;
      const qOff = queries.offsets;
      const partnerSets = qOff.map((o) => {
        const direct = partnersOf.get(o) ?? [];
        return new Set(same ? direct.flatMap((im) => partnersOf.get(im) ?? []).filter((t) => t !== o) : direct);
      });
      const partnerOffsets = (q: number): number[] => [...partnerSets[q]];
      const all = Uint32Array.from(new Set(qOff.flatMap((_, q) => partnerOffsets(q)))).sort();
      if (all.length === 0) continue;
      const xs = await this.store.vectorsAt(all);
      const row = new Map<number, number>();
      all.forEach((o, i) => row.set(o, i));
      const bg = tm === "image" ? img : txt;
      const bgRow = new Map<number, number>();
      bg.offsets.forEach((o, i) => bgRow.set(o, i));
      const fit = calibrateDirection({
        qs: queries.xs,
        bg: bg.xs,
        dim,
        targets: live[tm],
        selfRow: same ? (q) => bgRow.get(qOff[q]) : undefined,
        queryBg: d.side === "target" ? (qm === "image" ? img : txt).xs : undefined,
        partners: (q) => partnerOffsets(q).map((o) => xs.subarray(row.get(o)! * dim, (row.get(o)! + 1) * dim)),
        isPartnerRow: (q, r) => partnerSets[q].has(bg.offsets[r]),
        pairsOnly: true,
      });
      if (fit.pairs) d.pairs = fit.pairs;
    }
  }

  private pick(s: Sample, dim: number): { xs: Float32Array; offsets: number[] } {
    const rows = stride(s.offsets.length, CALIBRATION_QUERIES);
    const xs = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => xs.set(s.xs.subarray(r * dim, (r + 1) * dim), i * dim));
    return { xs, offsets: rows.map((r) => s.offsets[r]) };
  }

  /** The background sample of a modality (up to BACKGROUND_SAMPLE live vectors, evenly spread by offset), read once per calibration. */
  private async sample(m: Modality): Promise<Sample> {
    const had = this.samples.get(m);
    if (had) return had;
    const live = await this.store.liveOffsets(m);
    const offsets = Uint32Array.from(stride(live.length, BACKGROUND_SAMPLE).map((i) => live[i]));
    const s = { offsets, xs: offsets.length ? await this.store.vectorsAt(offsets) : new Float32Array(0) };
    this.samples.set(m, s);
    return s;
  }

  /**
   * The relevance of each hit of query `q`: its z against the right background, through the
   * direction's curve (pairs-based where the collection has pairs for it, else pairs-free).
   * `queryModality` undefined (raw or combined vectors): the modality whose sample the query is
   * closer to on average (CLIP's modality gap makes this reliable).
   */
  async score(q: Float32Array, queryModality: Modality | undefined, hits: { offset: number; modality: Modality; score: number }[], dim: number): Promise<number[]> {
    if (hits.length === 0) return [];
    const cal = await this.ensure(dim);
    const stats = new Map<Modality, { mu: number; sd: number }>();
    const statsOf = async (m: Modality) => {
      let s = stats.get(m);
      if (!s) {
        s = background(q, (await this.sample(m)).xs, dim);
        stats.set(m, s);
      }
      return s;
    };
    let qm = queryModality;
    if (!qm) {
      const a = (await this.sample("image")).offsets.length ? (await statsOf("image")).mu : -Infinity;
      const b = (await this.sample("text")).offsets.length ? (await statsOf("text")).mu : -Infinity;
      qm = a >= b ? "image" : "text";
    }
    const out: number[] = [];
    const targetStats = new Map<number, { mu: number; sd: number }>();
    for (const h of hits) {
      const d = cal.directions[dirOf(qm, h.modality)];
      if (!d) {
        out.push(0);
        continue;
      }
      let z: number;
      if (d.side === "target") {
        let ts = targetStats.get(h.offset);
        if (!ts) {
          const v = await this.store.vector(h.offset);
          ts = v ? background(v, (await this.sample(qm)).xs, dim) : { mu: 0, sd: 1 };
          targetStats.set(h.offset, ts);
        }
        z = (h.score - ts.mu) / ts.sd;
      } else {
        const s = await statsOf(h.modality);
        z = (h.score - s.mu) / s.sd;
      }
      out.push(relevanceAt(d.pairs ?? d.free, z));
    }
    return out;
  }
}
