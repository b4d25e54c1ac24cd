/*
 * Before images: before the first job of a chunk of an update, upsert, delete or hardDelete step is
 * created, the current values of exactly the fields the job writes (for a delete: every createable
 * field, so a person can re-insert the rows), plus Id, the key, LastModifiedDate and
 * LastModifiedById, are queried from the org for the rows the chunk targets and saved to
 * before/<step>/<chunk>.csv in the run folder. The file is written whole (temporary name, fsync,
 * rename), fingerprinted, then journaled (`before.saved`); a crash before the line leaves a file
 * nothing names, and the next attempt queries again and overwrites it. `sf migrate rollback`
 * restores updated rows from these files (src/rollback/).
 *
 * Rows are targeted by the key the job itself matches on: `Id` for update and delete, the external
 * id field for upsert, in `WHERE key IN (...)` pieces cut below the SOQL length limit. Why not one
 * query of the whole object per step: its cost grows with the object's size, not with the rows
 * written, and joining it to the chunk would need a sort on disk; a piece holds about 4,700
 * 18-character Ids, so a 10,000-row job costs 3 query jobs of 4 calls each (create, poll, one
 * page, delete): see plan/budget.ts. Memory: one piece of keys at a time; the chunk is streamed.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { parse } from 'csv-parse';
import { Messages } from '@salesforce/core';
import type { ResolvedStep } from '../manifest/types.js';
import type { ChunkState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { beforeSaved } from '../journal/eventBuilders.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { writeAtomically } from '../journal/durable.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { keyQueryPoll, type QueryJobClient } from '../bulk/queryJobClient.js';
import type { OrgDescribe } from '../bulk/orgDescribe.js';
import { MAX_SOQL_CHARACTERS, soqlLiteral } from '../bulk/soql.js';
import type { ChunkPlanner } from './chunkPlanner.js';
import type { RecordEvent } from './chunkLifecycle.js';
import { crashPoint } from './crashPoints.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'rollback');

/** the fields every before image holds besides the ones the job writes */
export const BEFORE_IMAGE_SYSTEM_FIELDS = ['Id', 'LastModifiedDate', 'LastModifiedById'];

const SALESFORCE_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** whether a step's jobs get before images */
export function takesBeforeImages(step: Pick<ResolvedStep, 'operation' | 'beforeImage'>): boolean {
  return step.beforeImage !== false && step.operation !== 'insert';
}

/** the field an upload column writes: `Account.Legacy_Id__c` → AccountId, `Parent__r.X` → Parent__c, `User:Owner.Username` → OwnerId */
export function fieldOfColumn(column: string): string {
  const dot = column.indexOf('.');
  if (dot < 0) return column;
  const relationship = column.slice(column.indexOf(':') + 1, dot);
  return relationship.endsWith('__r') ? `${relationship.slice(0, -3)}__c` : `${relationship}Id`;
}

/** the field a step's jobs match rows on */
export function keyFieldOf(step: Pick<ResolvedStep, 'operation' | 'externalIdField'>): string {
  return step.operation === 'upsert' ? (step.externalIdField ?? 'Id') : 'Id';
}

/**
 * `SELECT <fields> FROM <object> WHERE <key> IN (` … `)` cut into statements no longer than
 * `maxCharacters`: the keys of one statement, as SOQL literals.
 */
export class KeyPieces {
  private keys: string[] = [];
  private length: number;

  public constructor(
    private readonly prefix: string,
    private readonly maxCharacters: number = MAX_SOQL_CHARACTERS,
  ) {
    this.length = prefix.length + 1;
  }

  /** adds a key; returns the statement of the keys before it when this one would not fit */
  public add(key: string): string | undefined {
    const literal = soqlLiteral(key);
    let full: string | undefined;
    if (this.keys.length > 0 && this.length + literal.length + 1 > this.maxCharacters) full = this.flush();
    this.keys.push(literal);
    this.length += literal.length + 1;
    return full;
  }

  /** the statement of the keys added since the last one, if any */
  public flush(): string | undefined {
    if (this.keys.length === 0) return undefined;
    const soql = `${this.prefix}${this.keys.join(',')})`;
    this.keys = [];
    this.length = this.prefix.length + 1;
    return soql;
  }
}

export type BeforeImageContext = {
  queries: QueryJobClient;
  org: OrgDescribe;
  folder: RunFolder;
  record: RecordEvent;
  planner: ChunkPlanner;
  /** SOQL statement length limit (tests lower it to force several pieces) */
  maxSoqlCharacters?: number;
};

export class BeforeImageCapture {
  private readonly createable = new Map<string, Promise<string[]>>();

  public constructor(private readonly context: BeforeImageContext) {}

  /** takes the chunk's before image unless it has one, or its step takes none, or it is a retry round */
  public async ensure(step: ResolvedStep, chunk: ChunkState): Promise<void> {
    if (!takesBeforeImages(step) || chunk.attempt > 0 || chunk.beforeImage) return;
    const { folder, planner } = this.context;
    const body = (await planner.uploadBody(step, chunk))();
    const rows = body.pipe(
      parse({ delimiter: delimiterCharacter(step.columnDelimiter), relaxColumnCount: true, bom: true }),
    ) as AsyncIterable<string[]>;
    const keyField = keyFieldOf(step);
    let keyIndex = -1;
    let pieces: KeyPieces | undefined;
    folder.resultsDir(step.id); // refuses a step id that is no safe folder name
    const dir = join(folder.dir, 'before', step.id);
    const file = join(dir, `${chunk.chunk}.csv`);
    const pieceDir = join(dir, `.pieces-${chunk.chunk}`);
    await rm(pieceDir, { recursive: true, force: true });
    await mkdir(pieceDir, { recursive: true, mode: 0o700 });
    const pieceFiles: string[] = [];
    const run = async (soql: string | undefined): Promise<void> => {
      if (!soql) return;
      const pieceFile = join(pieceDir, `${pieceFiles.length}.csv`);
      pieceFiles.push(pieceFile);
      await this.context.queries.queryToFile(soql, pieceFile, { poll: keyQueryPoll(step.poll) });
      crashPoint('before.piece');
    };
    for await (const row of rows) {
      if (!pieces) {
        keyIndex = row.findIndex((column) => column.toLowerCase() === keyField.toLowerCase());
        if (keyIndex < 0)
          throw messages.createError('error.BeforeImageNoKey', [step.id, chunk.chunk, keyField], [keyField]);
        const fields = await this.fieldsOf(step, row);
        pieces = new KeyPieces(
          `SELECT ${fields.join(', ')} FROM ${step.object} WHERE ${keyField} IN (`,
          this.context.maxSoqlCharacters,
        );
        continue;
      }
      const key = row[keyIndex] ?? '';
      // a blank key, or something that is no Id in an Id list, fails its row in the job: no record to save
      if (key === '' || (keyField.toLowerCase() === 'id' && !SALESFORCE_ID.test(key))) continue;
      // eslint-disable-next-line no-await-in-loop -- one query at a time keeps one piece in memory
      await run(pieces.add(key));
    }
    await run(pieces?.flush());
    const records = await joinPieces(pieceFiles, file);
    await rm(pieceDir, { recursive: true, force: true });
    const print = await fingerprintFile(file);
    // the image is durable and whole; its journal line is not written yet
    crashPoint('before.written');
    await this.context.record(
      beforeSaved(chunk, { file: relative(folder.dir, file), size: print.size, sha256: print.sha256, records }),
    );
  }

  /** the fields to save: those the upload writes (update, upsert) or every createable one (delete) */
  private async fieldsOf(step: ResolvedStep, header: string[]): Promise<string[]> {
    const written =
      step.operation === 'delete' || step.operation === 'hardDelete'
        ? await this.createableFields(step.object)
        : header.map(fieldOfColumn);
    const fields = new Map<string, string>();
    for (const field of [...BEFORE_IMAGE_SYSTEM_FIELDS, keyFieldOf(step), ...written]) {
      if (!fields.has(field.toLowerCase())) fields.set(field.toLowerCase(), field);
    }
    return [...fields.values()];
  }

  private createableFields(object: string): Promise<string[]> {
    let fields = this.createable.get(object);
    if (!fields) {
      // compound (address, location) and base64 fields cannot be read by a Bulk API query
      fields = this.context.org
        .describeFields(object)
        .then((all) =>
          all
            .filter((field) => field.createable && !['base64', 'address', 'location'].includes(field.type))
            .map((field) => field.name),
        );
      this.createable.set(object, fields);
    }
    return fields;
  }
}

/** the pieces into one file (the header once), written atomically; the data record count */
async function joinPieces(pieces: string[], file: string): Promise<number> {
  let records = 0;
  await writeAtomically(file, async (temporary) => {
    const out = createWriteStream(temporary, { mode: 0o600 });
    let header = false;
    for (const piece of pieces) {
      const counter: LineCounter = new LineCounter(header);
      // eslint-disable-next-line no-await-in-loop -- in order, into one file
      await pipeline(createReadStream(piece), counter, out, { end: false });
      header ||= counter.sawHeader;
      records += counter.records;
    }
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  });
  return records;
}

/**
 * Passes a query result through, dropping its header when one was written already, and counts
 * its records: a record ends at a LF outside quotes (every value of a query result is quoted).
 */
class LineCounter extends Transform {
  public records = 0;
  public sawHeader = false;
  private inQuotes = false;
  private atHeader = true;
  private lineHasContent = false;

  public constructor(private readonly dropHeader: boolean) {
    super();
  }

  public override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let keepFrom = 0;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i];
      if (byte === 0x22) this.inQuotes = !this.inQuotes;
      if (byte === 0x0a && !this.inQuotes) {
        if (this.atHeader) {
          this.atHeader = false;
          this.sawHeader = true;
          if (this.dropHeader) keepFrom = i + 1;
        } else if (this.lineHasContent) this.records++;
        this.lineHasContent = false;
      } else if (byte !== 0x0d) this.lineHasContent = true;
    }
    if (this.atHeader && this.dropHeader) return callback();
    callback(null, keepFrom > 0 ? data.subarray(keepFrom) : data);
  }

  public override _flush(callback: TransformCallback): void {
    if (this.lineHasContent && !this.atHeader) this.records++;
    callback();
  }
}
