/*
 * Which records the org changed after the run wrote them. Rollback must not overwrite (or delete)
 * a record someone changed since: the rule is that a record is changed after the run when its
 * LastModifiedById is not the run's user, or its LastModifiedDate is later than the run's last
 * write (the journal time of the run's last `job.finished`: every record the run wrote was written
 * before it). Both are read before rollback writes anything, for every record of every step, so a
 * record the rollback itself restores in one step is not mistaken for a changed one in the next.
 *
 * Limits, said where they are decided: the run's own later writes count as the run's (a record the
 * same user changed by hand while the run was still going is not caught); the comparison is
 * between the org's clock (LastModifiedDate) and this machine's (the journal), so a machine clock
 * ahead of the org's hides changes made within that skew after the run, and one behind it reports
 * records as changed that were not (reported, never overwritten: `--force` overrides).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readResultRows } from '../engine/resultFiles.js';
import { KeyPieces } from '../engine/beforeImages.js';
import { keyQueryPoll, type QueryJobClient, type QueryPoll } from '../bulk/queryJobClient.js';

export type CurrentRecord = { lastModifiedDate: string; lastModifiedById: string };

export type RecordVerdict = { kind: 'unchanged' } | { kind: 'missing' } | ({ kind: 'changed' } & CurrentRecord);

/** `2026-11-29T23:10:00.000+0000` (the org's form) as epoch ms */
export function orgTimeMs(text: string): number {
  return Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

export type ConflictRule = {
  /** the run's user (absent when the org no longer knows the username: the time rule alone) */
  runUserId?: string;
  /** epoch ms of the run's last write */
  writesEndedMs: number;
};

export function verdictOf(current: CurrentRecord | undefined, rule: ConflictRule): RecordVerdict {
  if (!current) return { kind: 'missing' };
  const byOther = rule.runUserId !== undefined && current.lastModifiedById !== rule.runUserId;
  const later = orgTimeMs(current.lastModifiedDate) > rule.writesEndedMs;
  return byOther || later ? { kind: 'changed', ...current } : { kind: 'unchanged' };
}

/**
 * Collects (Id, row) pairs into pieces that fit one SOQL statement, asks the org where each Id
 * stands, and hands every pair with its verdict to `decide`. One piece in memory at a time.
 */
export class ConflictCheck<Row> {
  private pieces: KeyPieces;
  private pending: Array<[string, Row]> = [];
  private pieceNo = 0;

  public constructor(
    private readonly options: {
      queries: QueryJobClient;
      object: string;
      rule: ConflictRule;
      poll: QueryPoll;
      tempDir: string;
      maxSoqlCharacters?: number;
      decide: (id: string, row: Row, verdict: RecordVerdict) => Promise<void>;
    },
  ) {
    this.pieces = this.newPieces();
  }

  public async add(id: string, row: Row): Promise<void> {
    const full = this.pieces.add(id);
    if (full) {
      const piece = this.pending;
      this.pending = [];
      await this.check(full, piece);
    }
    this.pending.push([id, row]);
  }

  public async end(): Promise<void> {
    const soql = this.pieces.flush();
    const piece = this.pending;
    this.pending = [];
    if (soql) await this.check(soql, piece);
  }

  private newPieces(): KeyPieces {
    return new KeyPieces(
      `SELECT Id, LastModifiedDate, LastModifiedById FROM ${this.options.object} WHERE Id IN (`,
      this.options.maxSoqlCharacters,
    );
  }

  private async check(soql: string, piece: Array<[string, Row]>): Promise<void> {
    const { queries, poll, tempDir, rule, decide } = this.options;
    const file = join(tempDir, `current-${this.pieceNo++}.csv`);
    await queries.queryToFile(soql, file, { poll: keyQueryPoll(poll) });
    const current = new Map<string, CurrentRecord>();
    let columns: string[] | undefined;
    for await (const row of readResultRows(file, 'COMMA')) {
      if (!columns) {
        columns = row.map((column) => column.toLowerCase());
        continue;
      }
      const at = (name: string): string => row[columns!.indexOf(name.toLowerCase())] ?? '';
      current.set(idKey(at('Id')), {
        lastModifiedDate: at('LastModifiedDate'),
        lastModifiedById: at('LastModifiedById'),
      });
    }
    await rm(file, { force: true });
    for (const [id, row] of piece) {
      // eslint-disable-next-line no-await-in-loop -- rows are written in order
      await decide(id, row, verdictOf(current.get(idKey(id)), rule));
    }
  }
}

/** an Id compared by its 15 case-sensitive characters (the org may answer 18 for 15 asked) */
export function idKey(id: string): string {
  return id.slice(0, 15);
}

export async function withTempDir<T>(parent: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(parent, '.rollback-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
