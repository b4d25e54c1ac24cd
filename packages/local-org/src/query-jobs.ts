/* eslint-disable no-param-reassign -- job records are the mutable state this module owns */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ApiError, notFound } from './api-error.js';
import { DELIMITERS, LINE_ENDINGS, quotedRow, type ColumnDelimiter, type LineEnding } from './csv-text.js';
import { formatDateTime } from './rows.js';
import { flatValues, runSoql } from './soql.js';
import { SoqlError } from './soql-parser.js';
import type { RecordStore } from './store.js';

export type QueryJob = {
  id: string;
  operation: 'query' | 'queryAll';
  object: string;
  createdById: string;
  createdDate: string;
  systemModstamp: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  concurrencyMode: 'Parallel';
  contentType: 'CSV';
  apiVersion: number;
  lineEnding: LineEnding;
  columnDelimiter: ColumnDelimiter;
  numberRecordsProcessed: number;
  retries: number;
  totalProcessingTime: number;
  errorMessage?: string;
  /** byte offset of every data record in the results file, for locator paging */
  offsets: number[];
  headerLine: string;
};

/** Bulk API 2.0 query jobs: the query runs at once into a CSV on disk; pages are read by record offset. */
export class QueryJobs {
  public readonly jobs = new Map<string, QueryJob>();
  private readonly done = new Map<string, Promise<void>>();

  public constructor(
    private readonly options: {
      store: RecordStore;
      userId: string;
      dir: string;
      newJobId: () => string;
      onJob: () => void;
    },
  ) {}

  public create(body: Record<string, unknown>, apiVersion: number, userId = this.options.userId): QueryJob {
    const operation = body.operation === 'queryAll' ? 'queryAll' : body.operation === 'query' ? 'query' : undefined;
    if (!operation) throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(body.operation)}`);
    if (typeof body.query !== 'string' || !body.query)
      throw new ApiError(400, 'INVALIDJOB', "InvalidJob : Required field 'query' is missing");
    const columnDelimiter = (body.columnDelimiter ?? 'COMMA') as ColumnDelimiter;
    const lineEnding = (body.lineEnding ?? 'LF') as LineEnding;
    if (!(columnDelimiter in DELIMITERS) || !(lineEnding in LINE_ENDINGS))
      throw new ApiError(400, 'INVALIDJOB', 'InvalidJob : Invalid column delimiter or line ending');
    let result;
    try {
      result = runSoql(this.options.store, body.query, operation === 'queryAll');
    } catch (error) {
      if (error instanceof SoqlError)
        throw new ApiError(400, error.errorCode === 'MALFORMED_QUERY' ? 'API_ERROR' : error.errorCode, error.message);
      throw error;
    }
    if (result.count)
      throw new ApiError(400, 'API_ERROR', 'Aggregate queries are not supported by Bulk API 2.0 query jobs');
    this.options.onJob();
    const now = formatDateTime(new Date());
    const d = DELIMITERS[columnDelimiter];
    const eol = LINE_ENDINGS[lineEnding];
    const job: QueryJob = {
      id: this.options.newJobId(),
      operation,
      object: result.object.describe.name,
      createdById: userId,
      createdDate: now,
      systemModstamp: now,
      state: 'UploadComplete',
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion,
      lineEnding,
      columnDelimiter,
      numberRecordsProcessed: 0,
      retries: 0,
      totalProcessingTime: 0,
      offsets: [],
      headerLine:
        quotedRow(
          result.columns.map((c) => c.name),
          d,
        ) + eol,
    };
    this.jobs.set(job.id, job);
    const started = Date.now();
    const write = async (): Promise<void> => {
      await mkdir(this.dir(job), { recursive: true });
      job.state = 'InProgress';
      const out = createWriteStream(this.file(job));
      let offset = 0;
      for (const record of result.records) {
        if ((job.state as QueryJob['state']) === 'Aborted') break;
        const line = quotedRow(flatValues(this.options.store, result, record), d) + eol;
        job.offsets.push(offset);
        offset += Buffer.byteLength(line);
        // eslint-disable-next-line no-await-in-loop -- waits only when the file's buffer is full
        if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      await new Promise<void>((resolve) => out.end(() => resolve()));
      job.numberRecordsProcessed = job.offsets.length;
      job.totalProcessingTime = Date.now() - started;
      job.systemModstamp = formatDateTime(new Date());
      if ((job.state as QueryJob['state']) === 'InProgress') job.state = 'JobComplete';
    };
    this.done.set(
      job.id,
      new Promise<void>((resolve) => setImmediate(resolve)).then(write).catch((error: unknown) => {
        job.state = 'Failed';
        job.errorMessage = (error as Error).message;
      }),
    );
    return job;
  }

  public get(id: string): QueryJob {
    const job = this.jobs.get(id);
    if (!job) throw notFound();
    return job;
  }

  public abort(job: QueryJob, requested: unknown): QueryJob {
    if (requested !== 'Aborted')
      throw new ApiError(
        400,
        'INVALIDJOBSTATE',
        `Invalid state: ${String(requested)}. A query job can only be set to Aborted.`,
      );
    if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted') {
      throw new ApiError(
        400,
        'INVALIDJOBSTATE',
        `Cannot change the state of job ${job.id} from ${job.state} to Aborted`,
      );
    }
    job.state = 'Aborted';
    return job;
  }

  public async delete(job: QueryJob): Promise<void> {
    if (job.state === 'UploadComplete' || job.state === 'InProgress')
      throw new ApiError(400, 'INVALIDJOBSTATE', `Cannot delete job ${job.id} in state ${job.state}`);
    this.jobs.delete(job.id);
    await rm(this.dir(job), { recursive: true, force: true });
  }

  /** One page of results: a locator is the index of the page's first record. */
  public async page(
    job: QueryJob,
    locator: string | null,
    maxRecords: number | undefined,
  ): Promise<{ body: Readable | string; records: number; next: string }> {
    await this.done.get(job.id);
    if (job.state !== 'JobComplete')
      throw new ApiError(400, 'INVALIDJOBSTATE', `Results are not available for job ${job.id} in state ${job.state}`);
    const total = job.offsets.length;
    const start = locator ? Number.parseInt(Buffer.from(locator, 'base64url').toString('utf8'), 10) : 0;
    if (!Number.isInteger(start) || start < 0 || start > total)
      throw new ApiError(400, 'INVALIDLOCATOR', `Invalid locator: ${String(locator)}`);
    const size = maxRecords && maxRecords > 0 ? maxRecords : 50_000;
    const end = Math.min(total, start + size);
    const next = end < total ? Buffer.from(String(end)).toString('base64url') : 'null';
    if (end === start) return { body: job.headerLine, records: 0, next };
    const stream = createReadStream(this.file(job), {
      start: job.offsets[start],
      end: end < total ? job.offsets[end] - 1 : undefined,
    });
    return { body: stream, records: end - start, next };
  }

  public async settle(): Promise<void> {
    await Promise.all(this.done.values());
  }

  private dir(job: QueryJob): string {
    return join(this.options.dir, job.id);
  }

  private file(job: QueryJob): string {
    return join(this.dir(job), 'results.csv');
  }
}
