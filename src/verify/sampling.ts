/*
 * The field spot-check's sample: a fixed number of rows drawn uniformly from a stream of unknown
 * length (reservoir sampling, Algorithm R), from a seeded generator, so the same run verified with
 * the same seed checks the same rows, and a person can re-run exactly what the report shows.
 */

/** mulberry32: a small, fast, seedable generator of floats in [0, 1); not for secrets */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d_2b_79_f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** a seed of its own for each step, so adding a step does not change another step's sample */
export function stepSeed(seed: number, step: string): number {
  let hash = seed >>> 0;
  for (let i = 0; i < step.length; i++) hash = Math.imul(hash ^ step.charCodeAt(i), 0x01_00_01_93) >>> 0;
  return hash;
}

export class Reservoir<T> {
  private readonly items: T[] = [];
  private seen = 0;

  public constructor(
    private readonly size: number,
    private readonly random: () => number,
  ) {}

  /** the sample, in the order the rows were kept */
  public get sample(): readonly T[] {
    return this.items;
  }

  /** rows offered */
  public get offered(): number {
    return this.seen;
  }

  public offer(item: T): void {
    this.seen++;
    if (this.items.length < this.size) {
      this.items.push(item);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.size) this.items[slot] = item;
  }
}
