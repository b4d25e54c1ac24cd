/*
 * A Bulk API 2.0 query job whose results are streamed to disk page by page (salesforce-api.md §2):
 * create, poll to JobComplete, GET …/results following `Sforce-Locator` until it is the literal
 * `null`, each page into its own file, then delete the job. Rows are read back one at a time.
 *
 * Minimal on purpose, and only what verify needs: issue 12 brings a query job client of its own
 * (src/bulk/queryJobClient.ts); the lead merges the two. It goes through the same transport as
 * the ingest client (BulkTransport: retries, session refresh, the org door and its proxy).
 */
import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Connection } from '@salesforce/core';
import { parse } from 'csv-parse';
import { BulkTransport, errorMessage, parseErrorBody } from '../bulk/bulkTransport.js';
import { BulkApiError, networkErrorCode } from '../bulk/errors.js';
import { getStream } from '../bulk/orgHttp.js';
import type { Sleep } from '../bulk/backoff.js';
import type { RetryOptions } from '../bulk/types.js';

type QueryJobInfo = { id: string; state: string; errorMessage?: string; numberRecordsProcessed?: number };

export type OrgQueryOptions = {
  retry?: RetryOptions;
  /** rows a results page may hold (the org's own default applies when absent) */
  maxRecordsPerPage?: number;
  /** first and longest wait between polls of the query job */
  pollInitialMs?: number;
  pollMaxMs?: number;
  sleep?: Sleep;
};

/** the page files of one query's results, each with the header row, in order */
export type QueryResultFiles = { files: string[]; records: number };

export class OrgQuery {
  private readonly transport: BulkTransport;
  private readonly options: OrgQueryOptions;

  public constructor(connection: Connection, options: OrgQueryOptions & { apiVersion?: string } = {}) {
    this.transport = new BulkTransport(
      connection,
      {
        ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      },
      new EventEmitter(),
    );
    this.options = options;
  }

  /** runs `soql` as a query job and streams every results page into `dir` (created 0700) */
  public async toFiles(soql: string, dir: string): Promise<QueryResultFiles> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const base = `/services/data/v${this.transport.apiVersion}/jobs/query`;
    // a POST retried after a lost answer may leave a second query job behind: it only reads
    const created = await this.transport.withRetry(
      async () =>
        (await this.transport.sendJson('POST', this.url(base), {
          operation: 'query',
          query: soql,
          contentType: 'CSV',
          columnDelimiter: 'COMMA',
          lineEnding: 'LF',
        })) as QueryJobInfo,
    );
    const jobUrl = this.url(`${base}/${created.id}`);
    try {
      const done = await this.waitFor(created.id, jobUrl);
      const files: string[] = [];
      let records = 0;
      let locator: string | undefined;
      do {
        const page = join(dir, `page-${files.length}.csv`);
        const params = new URLSearchParams();
        if (locator) params.set('locator', locator);
        if (this.options.maxRecordsPerPage) params.set('maxRecords', String(this.options.maxRecordsPerPage));
        const query = params.size > 0 ? `?${params.toString()}` : '';
        const pageUrl = this.url(`${base}/${created.id}/results${query}`);
        // eslint-disable-next-line no-await-in-loop -- each page names the next
        const got = await this.transport.withRetry(async () => this.downloadPage(pageUrl, page));
        files.push(page);
        records += got.records;
        locator = got.locator && got.locator !== 'null' ? got.locator : undefined;
      } while (locator);
      // pages that add up to fewer rows than the job found would make present records look missing
      if (done.numberRecordsProcessed !== undefined && done.numberRecordsProcessed !== records) {
        throw new BulkApiError({
          method: 'GET',
          path: jobUrl.pathname,
          status: 200,
          errorCode: 'QUERY_RESULTS_INCOMPLETE',
          serverMessage: `the pages held ${records} records, the job processed ${done.numberRecordsProcessed}`,
          jobId: created.id,
        });
      }
      return { files, records };
    } finally {
      // the results are on disk; a job left behind only costs the org storage until it expires
      await this.transport.sendJson('DELETE', jobUrl).catch(() => undefined);
    }
  }

  /** the object's describe (one GET, retried on transient trouble like every call here) */
  public async describe<T>(object: string): Promise<T> {
    const url = this.url(
      `/services/data/v${this.transport.apiVersion}/sobjects/${encodeURIComponent(object)}/describe`,
    );
    return (await this.transport.withRetry(async () => this.transport.sendJson('GET', url))) as T;
  }

  private url(path: string): URL {
    return new URL(path, this.transport.connection.instanceUrl);
  }

  private async waitFor(jobId: string, jobUrl: URL): Promise<QueryJobInfo> {
    let delay = this.options.pollInitialMs ?? 500;
    const max = this.options.pollMaxMs ?? 10_000;
    for (;;) {
      // eslint-disable-next-line no-await-in-loop -- polling is a sequence of waits
      const info = (await this.transport.withRetry(async () => this.transport.sendJson('GET', jobUrl))) as QueryJobInfo;
      if (info.state === 'JobComplete') return info;
      if (info.state === 'Failed' || info.state === 'Aborted') {
        throw new BulkApiError({
          method: 'GET',
          path: jobUrl.pathname,
          status: 200,
          errorCode: `QUERY_JOB_${info.state.toUpperCase()}`,
          serverMessage: info.errorMessage ?? info.state,
          jobId,
        });
      }
      // eslint-disable-next-line no-await-in-loop
      await this.transport.sleep(delay);
      delay = Math.min(max, delay * 2);
    }
  }

  /** one results page into `file`; a 401 refreshes the session and asks again, once */
  private async downloadPage(url: URL, file: string): Promise<{ records: number; locator?: string }> {
    for (let refreshed = false; ; refreshed = true) {
      const token = this.transport.connection.accessToken ?? undefined;
      let headers: IncomingMessage['headers'] = {};
      const consume = async (response: IncomingMessage): Promise<void> => {
        headers = response.headers;
        await pipeline(response, createWriteStream(file, { mode: 0o600 }));
      };
      let outcome;
      try {
        // eslint-disable-next-line no-await-in-loop -- a second GET only follows a 401
        outcome = await getStream(
          url,
          this.transport.rawHeaders(token, { accept: 'text/csv' }),
          this.transport.idleTimeoutMs,
          consume,
        );
      } catch (error) {
        const code = networkErrorCode(error);
        if (code === undefined) throw error;
        throw new BulkApiError(
          { method: 'GET', path: url.pathname, status: 0, errorCode: code, serverMessage: errorMessage(error) },
          error,
        );
      }
      if (outcome.status === 200) {
        const locator = headers['sforce-locator'];
        return {
          records: Number(headers['sforce-numberofrecords'] ?? 0),
          ...(typeof locator === 'string' ? { locator } : {}),
        };
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
}

/** the rows of a query's page files as objects keyed by column, header rows skipped */
export async function* queryRows(result: QueryResultFiles): AsyncGenerator<Record<string, string>> {
  for (const file of result.files) {
    // one page after the other, in order
    const parser = createReadStream(file).pipe(parse({ columns: true, bom: true }));
    // eslint-disable-next-line no-await-in-loop
    for await (const row of parser as AsyncIterable<Record<string, string>>) yield row;
  }
}

export async function removeQueryFiles(result: QueryResultFiles): Promise<void> {
  await Promise.all(result.files.map((file) => rm(file, { force: true })));
}
