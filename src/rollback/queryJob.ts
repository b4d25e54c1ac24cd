/*
 * A minimal Bulk API 2.0 query job client for before images and rollback: create a query job, poll
 * it to its end, stream every result page into one CSV on disk (the header once). It goes through
 * the ingest client's transport (BulkTransport: the Connection's auth, retries, session refresh,
 * the org door), so it behaves like every other call of the plugin.
 *
 * Helper L writes the plugin's general query client (src/bulk/queryJobClient.ts) in parallel; this
 * one is deliberately small, with the shape that client is expected to have (`queryToFile`), so the
 * two can be unified at merge by replacing this file's class with L's.
 *
 * Wire facts (reference/salesforce-api.md §2): a query job is created UploadComplete; results come
 * in pages, `Sforce-Locator` names the next one and is the literal `null` on the last; every page
 * repeats the header row; null is `""`.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Connection } from '@salesforce/core';
import { BulkTransport, parseErrorBody, type IngestJobClientOptions } from '../bulk/bulkTransport.js';
import { BulkApiError } from '../bulk/errors.js';
import { getStream, orgGet } from '../bulk/orgHttp.js';
import { nextPollDelay } from '../bulk/backoff.js';
import { writeAtomically } from '../journal/durable.js';
import { CsvRecordCounter } from '../bulk/csvRecordCounter.js';

/**
 * The longest SOQL statement Salesforce accepts by default: 100,000 characters ("SOQL and SOSL
 * Limits for Search Queries", Salesforce App Limits Cheatsheet). Each string in a WHERE clause may
 * hold 4,000 characters, far above any key.
 */
export const MAX_SOQL_CHARACTERS = 100_000;

/** records per results page asked for; the org may send fewer */
const PAGE_RECORDS = 50_000;

export type QueryJobInfo = {
  id: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  numberRecordsProcessed?: number;
  errorMessage?: string;
};

export type QueryPoll = { initialMs: number; maxMs: number };

/** what a query costs in API calls, counted as it is made (for tests and the budget's claims) */
export type QueryCalls = { create: number; polls: number; pages: number };

export class RollbackQueryClient {
  public readonly calls: QueryCalls = { create: 0, polls: 0, pages: 0 };
  private readonly transport: BulkTransport;

  private readonly pageRecords: number;

  public constructor(
    private readonly connection: Connection,
    options: IngestJobClientOptions & { pageRecords?: number } = {},
  ) {
    this.transport = new BulkTransport(connection, options, new EventEmitter());
    this.pageRecords = options.pageRecords ?? PAGE_RECORDS;
  }

  /** the SOQL literal of a value: quoted, backslashes and quotes escaped */
  public static literal(value: string): string {
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  }

  /**
   * Runs `soql` as a query job and writes its rows to `file` (atomically: after a crash the file
   * is either absent or whole): the header, then every page's rows. Resolves the record count.
   */
  public async queryToFile(soql: string, file: string, poll: QueryPoll): Promise<{ records: number }> {
    const info = await this.create(soql);
    await this.waitToEnd(info.id, poll);
    return writeAtomically(file, async (temporary) => this.download(info.id, temporary));
  }

  /** the fields of an object's describe (name, createable, updateable, type) */
  public async describeFields(
    object: string,
  ): Promise<Array<{ name: string; type: string; createable: boolean; updateable: boolean }>> {
    const url = new URL(
      `/services/data/v${this.transport.apiVersion}/sobjects/${encodeURIComponent(object)}/describe`,
      this.connection.instanceUrl,
    ).toString();
    const describe = await orgGet<{
      fields?: Array<{ name: string; type: string; createable: boolean; updateable: boolean }>;
    }>(this.connection, url);
    return describe.fields ?? [];
  }

  /** the Id of the user with this username (REST query: one call) */
  public async userId(username: string): Promise<string | undefined> {
    const soql = `SELECT Id FROM User WHERE Username = ${RollbackQueryClient.literal(username)}`;
    const url = new URL(
      `/services/data/v${this.transport.apiVersion}/query?q=${encodeURIComponent(soql)}`,
      this.connection.instanceUrl,
    ).toString();
    const answer = await orgGet<{ records?: Array<{ Id?: string }> }>(this.connection, url);
    return answer.records?.[0]?.Id;
  }

  private url(suffix: string): URL {
    return new URL(`/services/data/v${this.transport.apiVersion}/jobs/query${suffix}`, this.connection.instanceUrl);
  }

  private async create(soql: string): Promise<QueryJobInfo> {
    const url = this.url('');
    this.calls.create++;
    // a create whose answer was lost leaves a query job nobody reads: it costs nothing but its line in the list
    const answer = await this.transport.withRetry(async () =>
      this.transport.sendJson('POST', url, {
        operation: 'query',
        query: soql,
        contentType: 'CSV',
        columnDelimiter: 'COMMA',
        lineEnding: 'LF',
      }),
    );
    return this.expectInfo('POST', url, answer);
  }

  private async waitToEnd(jobId: string, poll: QueryPoll): Promise<void> {
    // a query of a few thousand keys is done in seconds: the first look comes sooner than an
    // ingest job's (the step's poll.initial), then the step's back-off applies
    let delay = Math.max(1, Math.min(poll.initialMs, 1000));
    /* eslint-disable no-await-in-loop -- one poll after the other */
    for (;;) {
      await this.transport.sleep(delay);
      const url = this.url(`/${jobId}`);
      this.calls.polls++;
      const info = this.expectInfo(
        'GET',
        url,
        await this.transport.withRetry(() => this.transport.sendJson('GET', url)),
      );
      if (info.state === 'JobComplete') return;
      if (info.state === 'Failed' || info.state === 'Aborted') {
        throw new BulkApiError({
          method: 'GET',
          path: url.pathname,
          status: 200,
          errorCode: `QUERY_JOB_${info.state.toUpperCase()}`,
          serverMessage: info.errorMessage ?? info.state,
          jobId,
        });
      }
      delay = nextPollDelay(delay, poll.maxMs);
    }
    /* eslint-enable no-await-in-loop */
  }

  /** every page into `temporary`; the header of the pages after the first is dropped */
  private async download(jobId: string, temporary: string): Promise<{ records: number }> {
    const out = createWriteStream(temporary, { mode: 0o600 });
    let records = 0;
    let locator: string | undefined;
    try {
      /* eslint-disable no-await-in-loop -- pages come one after the other (each names the next) */
      for (let page = 0; ; page++) {
        const query = `?maxRecords=${this.pageRecords}${locator ? `&locator=${encodeURIComponent(locator)}` : ''}`;
        const url = this.url(`/${jobId}/results${query}`);
        const { next, counted } = await this.page(url, out, page > 0);
        records += counted;
        if (!next || next === 'null') break;
        locator = next;
      }
      /* eslint-enable no-await-in-loop */
    } finally {
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
    }
    return { records };
  }

  private async page(
    url: URL,
    out: NodeJS.WritableStream,
    dropHeader: boolean,
  ): Promise<{ next: string | undefined; counted: number }> {
    this.calls.pages++;
    for (let refreshed = false; ; refreshed = true) {
      const token = this.connection.accessToken ?? undefined;
      let counter: CsvRecordCounter | undefined;
      const consume = async (response: IncomingMessage): Promise<void> => {
        counter = new CsvRecordCounter();
        await pipeline(response, counter, dropHeader ? dropFirstLine() : passThrough(), async function* (source) {
          for await (const data of source as AsyncIterable<Buffer>) {
            if (!out.write(data)) await new Promise((resolve) => out.once('drain', resolve));
          }
          yield* [];
        });
      };
      // eslint-disable-next-line no-await-in-loop -- a second GET only follows a 401
      const outcome = await getStream(
        url,
        this.transport.rawHeaders(token, { accept: 'text/csv' }),
        this.transport.idleTimeoutMs,
        consume,
      );
      if (outcome.status === 200 && counter) {
        const locator = outcome.headers['sforce-locator'];
        return { next: Array.isArray(locator) ? locator[0] : locator, counted: counter.records };
      }
      if (outcome.status === 401 && !refreshed) {
        // eslint-disable-next-line no-await-in-loop
        await this.transport.refreshSession(token);
        continue;
      }
      const { errorCode, message } = parseErrorBody(outcome.status, outcome.text);
      throw new BulkApiError({
        method: 'GET',
        path: url.pathname,
        status: outcome.status,
        errorCode,
        serverMessage: message,
      });
    }
  }

  // eslint-disable-next-line class-methods-use-this -- the check of one answer
  private expectInfo(method: string, url: URL, value: unknown): QueryJobInfo {
    const info = value as Partial<QueryJobInfo> | undefined;
    if (info && typeof info.id === 'string' && typeof info.state === 'string') return info as QueryJobInfo;
    throw new BulkApiError({
      method,
      path: url.pathname,
      status: 200,
      errorCode: 'UNEXPECTED_RESPONSE',
      serverMessage: JSON.stringify(value)?.slice(0, 200) ?? String(value),
    });
  }
}

function passThrough(): Transform {
  return new Transform({
    transform(data: Buffer, _encoding, callback: TransformCallback): void {
      callback(null, data);
    },
  });
}

/** drops everything up to and including the first LF: the header row a later page repeats (field names hold no line break) */
function dropFirstLine(): Transform {
  let dropping = true;
  return new Transform({
    transform(data: Buffer, _encoding, callback: TransformCallback): void {
      if (!dropping) return callback(null, data);
      const lf = data.indexOf(0x0a);
      if (lf < 0) return callback();
      dropping = false;
      callback(null, data.subarray(lf + 1));
    },
  });
}
