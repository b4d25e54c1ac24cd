import { generator } from '../faults.js';

// A real org does not return result rows in upload order (reference §1 "Row order not guaranteed", §4):
// batches are processed in parallel and their results are stored as they finish. The local org makes
// that visible by default, so nothing a client does can come to depend on upload order: the result
// rows of each internal batch are shuffled before they are written, from a seed, so a failing test
// replays the same order. `upload` keeps upload order (for people reading result files by eye).

export type ResultOrder = 'shuffled' | 'upload';

export type ResultOrderOptions = { order: ResultOrder; seed: number };

export const DEFAULT_RESULT_ORDER: ResultOrderOptions = { order: 'shuffled', seed: 1 };

/** FNV-1a of a job id: mixes the job into the seed so two jobs of one org are not shuffled alike. */
function hash(text: string): number {
  let h = 0x81_1c_9d_c5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01_00_01_93);
  return h >>> 0;
}

/** The result lines of one batch, held until the batch is done (at most 10,000 lines: memory stays bounded). */
export class BatchResults {
  public readonly success: string[] = [];
  public readonly failed: string[] = [];
  public readonly unprocessed: string[] = [];
  private readonly random: (() => number) | undefined;

  public constructor(options: ResultOrderOptions, jobId: string) {
    this.random = options.order === 'shuffled' ? generator((options.seed ^ hash(jobId)) >>> 0) : undefined;
  }

  public get size(): number {
    return this.success.length + this.failed.length + this.unprocessed.length;
  }

  /** Empties the batch: each file's lines in the order they are to be written. */
  public take(): { success: string[]; failed: string[]; unprocessed: string[] } {
    const lists = {
      success: this.success.splice(0),
      failed: this.failed.splice(0),
      unprocessed: this.unprocessed.splice(0),
    };
    if (this.random) for (const list of Object.values(lists)) this.shuffle(list);
    return lists;
  }

  /** Fisher–Yates with the seeded generator. */
  private shuffle(list: string[]): void {
    const random = this.random!;
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      // eslint-disable-next-line no-param-reassign -- an in-place shuffle of the list this class just took
      [list[i], list[j]] = [list[j], list[i]];
    }
  }
}
