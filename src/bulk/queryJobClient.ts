/*
 * The Bulk API 2.0 query job lifecycle over the `Connection` of --target-org: create, poll, results
 * streamed page by page into one file on disk, abort, delete. It shares the ingest client's transport
 * (bulkTransport.ts: retries, session refresh, accounting events) and the org door (orgHttp.ts), so a
 * query costs, retries and logs exactly like an ingest call.
 *
 * Results: `GET …/jobs/query/{id}/results?locator=L&maxRecords=N`, text/csv, the header repeated on
 * every page, the next page's locator in the `Sforce-Locator` header, the literal `null` on the last
 * page (salesforce-api.md §2, Bulk API 2.0 guide "Get Results for a Query Job"). The pages are
 * written one after the other into one file with the header kept once; a page that breaks is cut
 * off the file and fetched again from the same locator, so the file never holds half a page.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Connection } from '@salesforce/core';
import { writeAtomically } from '../journal/durable.js';
import { BulkTransport, errorMessage, type IngestJobClientOptions, parseErrorBody } from './bulkTransport.js';
import { CsvRecordCounter } from './csvRecordCounter.js';
import { BulkApiError, isRetryable, networkErrorCode, pollAbortedError } from './errors.js';
import { getStream } from './orgHttp.js';
import { PollSchedule } from './pollSchedule.js';
import type { ColumnDelimiter, JobState, LineEnding } from './types.js';

/** Consecutive failed status calls (each already retried) after which `poll` gives up. */
const MAX_FAILED_POLLS = 5;

export type QueryJobClientOptions = IngestJobClientOptions & {
  /** records asked for per results page (`maxRecords`); default: the org's choice */
  maxRecordsPerPage?: number;
};

export type QueryJobInfo = {
  id: string;
  operation: 'query' | 'queryAll';
  object: string;
  state: JobState;
  createdById?: string;
  createdDate?: string;
  systemModstamp?: string;
  concurrencyMode?: string;
  contentType?: string;
  apiVersion?: number;
  lineEnding?: LineEnding;
  columnDelimiter?: ColumnDelimiter;
  jobType?: string;
  numberRecordsProcessed?: number;
  retries?: number;
  totalProcessingTime?: number;
  errorMessage?: string;
};

export type CreateQueryJobRequest = {
  query: string;
  operation?: 'query' | 'queryAll';
  columnDelimiter?: ColumnDelimiter;
  lineEnding?: LineEnding;
};

/** What `saveResults` wrote: data records (header not counted), bytes of the file, pages fetched. */
export type SavedQueryResults = { records: number; bytes: number; pages: number };

/** The first and the longest wait between status calls of one query job. */
export type QueryPoll = { initialMs: number; maxMs: number };

/**
 * A step's poll bounds for a query of its keys: a query of a few thousand keys is done in seconds,
 * so the first look comes sooner than an ingest job's (the step's poll.initial), then the step's
 * back-off applies.
 */
export function keyQueryPoll(poll: QueryPoll): QueryPoll {
  return { initialMs: Math.max(1, Math.min(poll.initialMs, 1000)), maxMs: poll.maxMs };
}

/** Drops everything up to and including the first line feed: a later page's repeated header. */
class FirstLineDropper extends Transform {
  private dropping = true;

  public override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.dropping) return callback(null, chunk);
    const lf = chunk.indexOf(0x0a);
    if (lf < 0) return callback();
    this.dropping = false;
    callback(null, chunk.subarray(lf + 1));
  }
}

function isQueryJobInfo(value: unknown): value is QueryJobInfo {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string' &&
    typeof (value as { state?: unknown }).state === 'string'
  );
}

export class QueryJobClient extends EventEmitter {
  public readonly apiVersion: string;
  private readonly transport: BulkTransport;
  private readonly now: () => number;
  private readonly maxRecordsPerPage?: number;

  public constructor(connection: Connection, options: QueryJobClientOptions = {}) {
    super();
    this.transport = new BulkTransport(connection, options, this);
    this.now = options.now ?? Date.now;
    this.apiVersion = this.transport.apiVersion;
    this.maxRecordsPerPage = options.maxRecordsPerPage;
  }

  /**
   * POST a query job. Retried on transient trouble: a job created by a try whose answer was lost
   * runs its query for nothing and expires with the org's other jobs; it writes nothing.
   */
  public async create(request: CreateQueryJobRequest): Promise<QueryJobInfo> {
    const body: Record<string, string> = { operation: request.operation ?? 'query', query: request.query };
    if (request.columnDelimiter !== undefined) body.columnDelimiter = request.columnDelimiter;
    if (request.lineEnding !== undefined) body.lineEnding = request.lineEnding;
    const url = this.url('');
    return this.transport.withRetry(async () =>
      this.expectInfo('POST', url, await this.transport.sendJson('POST', url, body)),
    );
  }

  /** GET the job's info (one status call, retried on transient trouble). */
  public async info(jobId: string, signal?: AbortSignal): Promise<QueryJobInfo> {
    const url = this.url(`/${jobId}`);
    return this.transport.withRetry(
      async () => this.expectInfo('GET', url, await this.transport.sendJson('GET', url)),
      signal,
    );
  }

  /**
   * Waits until the job is JobComplete, Failed or Aborted (resolves with that info; it does not
   * throw on Failed), backing off from `initialMs` to `maxMs` (pollSchedule.ts). A query job has no
   * upload count to predict its end from, so the schedule only backs off.
   */
  public async poll(
    jobId: string,
    options: { initialMs: number; maxMs: number; signal?: AbortSignal },
  ): Promise<QueryJobInfo> {
    const schedule = new PollSchedule({ initialMs: options.initialMs, maxMs: options.maxMs }, this.now());
    let delay = schedule.first();
    let last: QueryJobInfo | undefined;
    let failedPolls = 0;
    for (;;) {
      try {
        // eslint-disable-next-line no-await-in-loop -- polling is a sequence of waits by design
        await this.transport.sleep(delay, options.signal);
      } catch (reason) {
        throw pollAbortedError(jobId, last?.state, reason);
      }
      try {
        // eslint-disable-next-line no-await-in-loop
        last = await this.info(jobId, options.signal);
        failedPolls = 0;
      } catch (error) {
        if (options.signal?.aborted) throw pollAbortedError(jobId, last?.state, options.signal.reason);
        failedPolls++;
        if (!isRetryable(error) || failedPolls >= MAX_FAILED_POLLS) throw error;
        delay = schedule.afterFailure();
        continue;
      }
      if (last.state === 'JobComplete' || last.state === 'Failed' || last.state === 'Aborted') return last;
      delay = schedule.next(last, this.now());
    }
  }

  /**
   * Streams every page of a finished job's results into `file` (header once, then every record),
   * written atomically: `file` is either absent or complete. Memory holds one network chunk at a
   * time, never a page. A page that fails transiently is cut off and fetched again from its locator.
   */
  public async saveResults(jobId: string, file: string): Promise<SavedQueryResults> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return writeAtomically(file, async (partial) => {
      let locator: string | undefined;
      let records = 0;
      let pages = 0;
      let bytes = 0;
      for (;;) {
        const pageStart = bytes;
        const first = pages === 0;
        const at = locator;
        // eslint-disable-next-line no-await-in-loop -- each page names the next
        const page = await this.transport.withRetry(async () => {
          if (!first) await truncate(partial, pageStart);
          return this.fetchPageOnce(jobId, at, partial, first);
        });
        pages++;
        records += page.records;
        // eslint-disable-next-line no-await-in-loop
        bytes = (await stat(partial)).size;
        if (page.next === undefined) return { records, bytes, pages };
        locator = page.next;
      }
    });
  }

  /**
   * One whole query into `file`: create, poll to the end, save every page (header once), delete the
   * job. Refuses a job that Failed or was Aborted, and pages that add up to fewer records than the
   * job processed (a short file would make present records look missing). The job is deleted even
   * when that fails: its results are on disk or useless, and a job left behind only costs the org
   * storage until it expires, so a failed delete is not an error.
   */
  public async queryToFile(
    soql: string,
    file: string,
    options: { poll: QueryPoll; signal?: AbortSignal },
  ): Promise<SavedQueryResults> {
    const created = await this.create({ query: soql, columnDelimiter: 'COMMA', lineEnding: 'LF' });
    const path = this.url(`/${created.id}`).pathname;
    try {
      const done = await this.poll(created.id, { ...options.poll, signal: options.signal });
      if (done.state !== 'JobComplete') {
        throw new BulkApiError({
          method: 'GET',
          path,
          status: 200,
          errorCode: `QUERY_JOB_${done.state.toUpperCase()}`,
          serverMessage: done.errorMessage ?? done.state,
          jobId: created.id,
        });
      }
      const saved = await this.saveResults(created.id, file);
      if (done.numberRecordsProcessed !== undefined && done.numberRecordsProcessed !== saved.records) {
        await rm(file, { force: true });
        throw new BulkApiError({
          method: 'GET',
          path: `${path}/results`,
          status: 200,
          errorCode: 'QUERY_RESULTS_INCOMPLETE',
          serverMessage: `the pages held ${saved.records} records, the job processed ${done.numberRecordsProcessed}`,
          jobId: created.id,
        });
      }
      return saved;
    } finally {
      await this.delete(created.id).catch(() => undefined);
    }
  }

  /** PATCH state Aborted (the only state change a query job takes). */
  public async abort(jobId: string): Promise<QueryJobInfo> {
    const url = this.url(`/${jobId}`);
    return this.transport.withRetry(async () =>
      this.expectInfo('PATCH', url, await this.transport.sendJson('PATCH', url, { state: 'Aborted' })),
    );
  }

  /** DELETE the job. A retry answered NOT_FOUND means an earlier try landed. */
  public async delete(jobId: string): Promise<void> {
    const url = this.url(`/${jobId}`);
    await this.transport.withRetry(async (attempt) => {
      try {
        await this.transport.sendJson('DELETE', url);
      } catch (error) {
        if (attempt > 1 && error instanceof BulkApiError && error.status === 404) return;
        throw error;
      }
    });
  }

  private url(suffix: string): URL {
    return new URL(`/services/data/v${this.apiVersion}/jobs/query${suffix}`, this.transport.connection.instanceUrl);
  }

  private expectInfo(method: string, url: URL, value: unknown): QueryJobInfo {
    if (isQueryJobInfo(value)) return value;
    throw new BulkApiError({
      method,
      path: url.pathname,
      status: 200,
      errorCode: 'UNEXPECTED_RESPONSE',
      serverMessage: (JSON.stringify(value) ?? String(value)).slice(0, 200),
    });
  }

  /**
   * One page appended to `partial` (its header kept only on the first page). Its `next` locator is
   * undefined on the last page. A 401 is answered once with a session refresh.
   */
  private async fetchPageOnce(
    jobId: string,
    locator: string | undefined,
    partial: string,
    first: boolean,
  ): Promise<{ records: number; next: string | undefined }> {
    const url = this.url(`/${jobId}/results`);
    if (locator !== undefined) url.searchParams.set('locator', locator);
    if (this.maxRecordsPerPage !== undefined) url.searchParams.set('maxRecords', String(this.maxRecordsPerPage));
    const path = url.pathname;
    for (let refreshed = false; ; refreshed = true) {
      const token = this.transport.connection.accessToken ?? undefined;
      const started = Date.now();
      let counter: CsvRecordCounter | undefined;
      const append = async (response: IncomingMessage): Promise<void> => {
        counter = new CsvRecordCounter();
        const out = createWriteStream(partial, { flags: 'a', mode: 0o600 });
        await (first ? pipeline(response, counter, out) : pipeline(response, counter, new FirstLineDropper(), out));
      };
      let outcome;
      try {
        // eslint-disable-next-line no-await-in-loop -- a second GET only ever follows a 401
        outcome = await getStream(
          url,
          this.transport.rawHeaders(token, { accept: 'text/csv' }),
          this.transport.idleTimeoutMs,
          append,
        );
      } catch (error) {
        this.transport.emitRequest('GET', path, counter ? 200 : 0, started);
        const code = networkErrorCode(error);
        if (code === undefined) throw error;
        throw new BulkApiError(
          { method: 'GET', path, status: 0, errorCode: code, serverMessage: errorMessage(error), jobId },
          error,
        );
      }
      this.transport.emitRequest('GET', path, outcome.status, started);
      if (outcome.status === 200 && counter) {
        const header = outcome.headers['sforce-locator'];
        const next = Array.isArray(header) ? header[0] : header;
        // No locator header at all is taken as the last page too: looping on a missing header would never end.
        return { records: counter.records, next: next && next !== 'null' ? next : undefined };
      }
      if (outcome.status === 401 && !refreshed) {
        // eslint-disable-next-line no-await-in-loop
        await this.transport.refreshSession(token);
        continue;
      }
      const { errorCode, message } = parseErrorBody(outcome.status, outcome.text);
      throw new BulkApiError({ method: 'GET', path, status: outcome.status, errorCode, serverMessage: message, jobId });
    }
  }
}
