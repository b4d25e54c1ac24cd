/*
 * The Bulk API 2.0 ingest job lifecycle over the `Connection` of --target-org: create, streamed
 * upload, close, poll, results streamed to disk, abort, delete, list.
 *
 * JSON calls go through `connection.request`, so the CLI's auth headers, token refresh (jsforce's
 * refresh delegate, fed by @salesforce/core's AuthInfo) and proxy settings apply. jsforce's own
 * transport retry is switched off for them: it skips POST and PATCH, it knows nothing of
 * INVALIDJOBSTATE after a close that landed, and it would hide calls from the accounting below.
 * The upload and the result downloads use node:http(s) directly (see streamedHttp.ts for why) with
 * the Connection's current token, and refresh through `connection.refreshAuth()` on a 401.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Connection, SFDX_HTTP_HEADERS } from '@salesforce/core';
import type { JsonMap } from '@salesforce/ts-types';
import { writeAtomically } from '../journal/durable.js';
import { DEFAULT_RETRY_POLICY, nextPollDelay, retryDelay, type RetryPolicy, type Sleep, sleep } from './backoff.js';
import { CsvRecordCounter } from './csvRecordCounter.js';
import {
  badApiVersionError,
  BulkApiError,
  isRetryable,
  isTransientStatus,
  jobStillOpenError,
  networkErrorCode,
  pollAbortedError,
  resultsTruncatedError,
  UploadInterruptedError,
} from './errors.js';
import { getStream, putStream } from './streamedHttp.js';
import {
  type BulkRequestEvent,
  type CreateJobRequest,
  type IngestJobInfo,
  isTerminalJobState,
  type PollOptions,
  type ResultKind,
  type RetryOptions,
  type SavedResults,
} from './types.js';

export type IngestJobClientOptions = {
  /** e.g. "62.0"; default: the Connection's version (which --api-version sets) */
  apiVersion?: string;
  retry?: RetryOptions;
  /** longest wait for the answer to a JSON call (default 120 s) */
  requestTimeoutMs?: number;
  /** longest time an upload or download may move no data (default 300 s) */
  idleTimeoutMs?: number;
  /** replaces the clock of retry and poll waits (tests) */
  sleep?: Sleep;
  /** replaces the jitter source (tests) */
  random?: () => number;
};

/** Emitted as 'retry' before waiting to try a call again. */
export type BulkRetryEvent = { method: string; path: string; attempt: number; delayMs: number; reason: string };

/** Emitted as 'refresh' after the session was refreshed because the org answered 401. */
export type BulkRefreshEvent = { ms: number };

/** 401 answers within one JSON call (each followed by a jsforce refresh) before it gives up. */
const MAX_REFUSED_EXCHANGES = 2;

/** Consecutive failed status calls (each already retried) after which `poll` gives up. */
const MAX_FAILED_POLLS = 5;

const RESULT_PATHS: Record<ResultKind, string> = {
  successful: 'successfulResults',
  failed: 'failedResults',
  unprocessed: 'unprocessedrecords',
};

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' };

type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

type ListPage = { done?: boolean; records?: IngestJobInfo[]; nextRecordsUrl?: string | null };

/** What jsforce's transport promise resolves to; only the status is read. */
type ExchangeResult = { statusCode: number };

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause =
      error.cause instanceof Error && error.cause.message !== error.message ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** A server message is quoted into errors; an HTML error page must not flood the terminal. */
function shorten(text: string, max = 500): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The Bulk API error body is `[{"errorCode": …, "message": …}]`; anything else is kept as text. */
function parseErrorBody(status: number, text: string): { errorCode: string; message: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    const first: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first && typeof first === 'object') {
      const { errorCode, message } = first as { errorCode?: unknown; message?: unknown };
      if (typeof errorCode === 'string') {
        return { errorCode, message: typeof message === 'string' ? message : '' };
      }
    }
  } catch {
    // not JSON: an HTML or plain-text error page
  }
  return { errorCode: `ERROR_HTTP_${status}`, message: shorten(text) || `HTTP ${status}` };
}

function isJobInfo(value: unknown): value is IngestJobInfo {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string' &&
    typeof (value as { state?: unknown }).state === 'string'
  );
}

export class IngestJobClient extends EventEmitter {
  public readonly apiVersion: string;
  private readonly retryPolicy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;

  public constructor(
    private readonly connection: Connection,
    options: IngestJobClientOptions = {},
  ) {
    super();
    const apiVersion = options.apiVersion ?? connection.getApiVersion();
    if (!/^\d+\.\d+$/.test(apiVersion)) throw badApiVersionError(apiVersion);
    this.apiVersion = apiVersion;
    this.retryPolicy = {
      attempts: Math.max(1, options.retry?.attempts ?? DEFAULT_RETRY_POLICY.attempts),
      baseDelayMs: options.retry?.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * POST a new job. Retried on transient trouble: if an earlier try was created but its answer was
   * lost, that job stays Open and empty forever (never closed, so never processed) — harmless.
   */
  public async create(request: CreateJobRequest): Promise<IngestJobInfo> {
    const body: Record<string, string> = { object: request.object, operation: request.operation, contentType: 'CSV' };
    if (request.externalIdFieldName !== undefined) body.externalIdFieldName = request.externalIdFieldName;
    if (request.columnDelimiter !== undefined) body.columnDelimiter = request.columnDelimiter;
    if (request.lineEnding !== undefined) body.lineEnding = request.lineEnding;
    if (request.assignmentRuleId !== undefined) body.assignmentRuleId = request.assignmentRuleId;
    const url = this.jobUrl('');
    return this.withRetry(async () => this.expectJobInfo('POST', url, await this.sendJson('POST', url, body)));
  }

  /**
   * PUT the job's data: one request whose body is `openBody()` streamed as it is read. On a 401 the
   * org refused the whole request, so the job is still empty: refresh, open the body again, PUT
   * again (once). Any other break (connection dropped, 5xx) throws UploadInterruptedError and the
   * job must be aborted: it may hold part of the body, and a second PUT is refused anyway.
   */
  public async upload(jobId: string, openBody: () => Readable): Promise<{ bytes: number }> {
    const url = this.jobUrl(`/${jobId}/batches`);
    const path = url.pathname;
    for (let refreshed = false; ; refreshed = true) {
      const token = this.connection.accessToken ?? undefined;
      const started = Date.now();
      // eslint-disable-next-line no-await-in-loop -- a second PUT only ever follows a refused first one
      const outcome = await putStream(
        url,
        this.rawHeaders(token, { 'content-type': 'text/csv' }),
        openBody(),
        this.idleTimeoutMs,
      );
      if (outcome.kind === 'failed') {
        this.emitRequest('PUT', path, 0, started);
        throw new UploadInterruptedError(
          {
            jobId,
            bytesSent: outcome.bytesSent,
            status: 0,
            reason: errorMessage(outcome.error),
            origin: outcome.origin,
          },
          outcome.error,
        );
      }
      const { status, text, bytesSent } = outcome;
      this.emitRequest('PUT', path, status, started);
      if (status >= 200 && status < 300) {
        if (!outcome.bodyEnded) {
          throw new UploadInterruptedError({
            jobId,
            bytesSent,
            status,
            reason: `the org answered HTTP ${status} before the whole body was sent`,
            origin: 'server',
          });
        }
        return { bytes: bytesSent };
      }
      if (status === 401 && !refreshed) {
        try {
          // eslint-disable-next-line no-await-in-loop
          await this.refreshSession(token);
        } catch (error) {
          if (!isRetryable(error)) throw error;
          throw new UploadInterruptedError(
            {
              jobId,
              bytesSent: 0,
              status,
              reason: `refreshing the session failed: ${errorMessage(error)}`,
              origin: 'network',
            },
            error,
          );
        }
        continue;
      }
      const { errorCode, message } = parseErrorBody(status, text);
      if (isTransientStatus(status)) {
        throw new UploadInterruptedError({
          jobId,
          bytesSent,
          status,
          reason: `HTTP ${status} ${errorCode}: ${message}`,
          origin: 'server',
        });
      }
      throw new BulkApiError({ method: 'PUT', path, status, errorCode, serverMessage: message, jobId });
    }
  }

  /**
   * PATCH state UploadComplete. Retried; when a retry is answered INVALIDJOBSTATE, an earlier try
   * landed if the job has moved on to processing — that counts as closed.
   */
  public async close(jobId: string): Promise<IngestJobInfo> {
    return this.changeState(jobId, 'UploadComplete', (info) => info.state !== 'Open' && info.state !== 'Aborted');
  }

  /** PATCH state Aborted. Retried; a retry answered INVALIDJOBSTATE on an Aborted job succeeded. */
  public async abort(jobId: string): Promise<IngestJobInfo> {
    return this.changeState(jobId, 'Aborted', (info) => info.state === 'Aborted');
  }

  /** DELETE the job (only UploadComplete or terminal jobs). A retry answered NOT_FOUND means an earlier try landed. */
  public async delete(jobId: string): Promise<void> {
    const url = this.jobUrl(`/${jobId}`);
    await this.withRetry(async (attempt) => {
      try {
        await this.sendJson('DELETE', url);
      } catch (error) {
        if (attempt > 1 && error instanceof BulkApiError && error.status === 404) return;
        throw error;
      }
    });
  }

  /** GET the job's info (one status call, retried on transient trouble). */
  public async info(jobId: string, signal?: AbortSignal): Promise<IngestJobInfo> {
    const url = this.jobUrl(`/${jobId}`);
    return this.withRetry(async () => this.expectJobInfo('GET', url, await this.sendJson('GET', url)), signal);
  }

  /**
   * Waits for the job to finish: waits `initialMs`, asks once, then waits half again as long each
   * time up to `maxMs`. Resolves with the info of JobComplete, Failed or Aborted (it does not throw
   * on those); throws if the job is still Open (never closed). Transient failures of a status call
   * are retried by the call itself and do not end the poll, unless MAX_FAILED_POLLS in a row fail.
   * The signal stops the wait with an AbortError; the job keeps running in the org.
   */
  public async poll(jobId: string, options: PollOptions): Promise<IngestJobInfo> {
    const { signal, onPoll } = options;
    const maxMs = Math.max(1, options.maxMs);
    let delay = Math.max(1, Math.min(options.initialMs, maxMs));
    let last: IngestJobInfo | undefined;
    let failedPolls = 0;
    for (;;) {
      try {
        // eslint-disable-next-line no-await-in-loop -- polling is a sequence of waits by design
        await this.sleep(delay, signal);
      } catch (reason) {
        throw pollAbortedError(jobId, last?.state, reason);
      }
      let info: IngestJobInfo;
      try {
        // eslint-disable-next-line no-await-in-loop
        info = await this.info(jobId, signal);
        failedPolls = 0;
      } catch (error) {
        if (signal?.aborted) throw pollAbortedError(jobId, last?.state, signal.reason);
        failedPolls++;
        if (!isRetryable(error) || failedPolls >= MAX_FAILED_POLLS) throw error;
        delay = nextPollDelay(delay, maxMs);
        continue;
      }
      last = info;
      onPoll?.(info);
      if (isTerminalJobState(info.state)) return info;
      if (info.state === 'Open') throw jobStillOpenError(jobId);
      delay = nextPollDelay(delay, maxMs);
    }
  }

  /**
   * Streams one result file of a finished job to `file`: into a temporary file in the same folder,
   * fsynced, then renamed, so `file` is either absent or complete. The folder is created (0o700)
   * if missing; the file is 0o600 (it holds customer data). Records are counted as they stream
   * (quoted line feeds inside values do not count). Retried from the start on transient trouble.
   */
  public async saveResults(jobId: string, kind: ResultKind, file: string): Promise<SavedResults> {
    const url = this.jobUrl(`/${jobId}/${RESULT_PATHS[kind]}`);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return writeAtomically(file, (partial) => this.withRetry(async () => this.downloadOnce(jobId, kind, url, partial)));
  }

  /** Every ingest job the org lists (all pages, following nextRecordsUrl). */
  public async *list(
    options: { jobType?: 'V2Ingest' | 'Classic' | 'BigObjectIngest' } = {},
  ): AsyncGenerator<IngestJobInfo> {
    let url: URL | undefined = this.jobUrl(options.jobType ? `?jobType=${options.jobType}` : '');
    while (url) {
      const pageUrl: URL = url;
      // eslint-disable-next-line no-await-in-loop -- each page names the next
      const page = (await this.withRetry(async () => this.sendJson('GET', pageUrl))) as ListPage | undefined;
      for (const record of page?.records ?? []) yield record;
      url =
        page?.done === false && page.nextRecordsUrl
          ? new URL(page.nextRecordsUrl, this.connection.instanceUrl)
          : undefined;
    }
  }

  /**
   * The id of the user this client acts as, e.g. to pick its jobs from `list`: from the CLI's auth
   * record when it has one, else from the OpenID Connect userinfo endpoint.
   */
  public async currentUserId(): Promise<string> {
    const known = this.connection.getAuthInfoFields().userId;
    if (typeof known === 'string' && known.length > 0) return known;
    const url = new URL('/services/oauth2/userinfo', this.connection.instanceUrl);
    const info = (await this.withRetry(async () => this.sendJson('GET', url))) as { user_id?: unknown } | undefined;
    if (typeof info?.user_id !== 'string') throw new Error(`GET ${url.pathname} answered without a user_id`);
    return info.user_id;
  }

  private jobUrl(suffix: string): URL {
    return new URL(`/services/data/v${this.apiVersion}/jobs/ingest${suffix}`, this.connection.instanceUrl);
  }

  private rawHeaders(token: string | undefined, extra: OutgoingHttpHeaders): OutgoingHttpHeaders {
    return {
      'user-agent': SFDX_HTTP_HEADERS['user-agent'],
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extra,
    };
  }

  private emitRequest(method: string, path: string, status: number, started: number): void {
    const event: BulkRequestEvent = { method, path, status, ms: Date.now() - started };
    this.emit('request', event);
  }

  /** Tries `call` up to the policy's attempts while it fails with something retryable. */
  private async withRetry<T>(call: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        // eslint-disable-next-line no-await-in-loop -- tries are sequential by definition
        return await call(attempt);
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.retryPolicy.attempts) {
          throw error instanceof BulkApiError && attempt > 1 ? error.afterAttempts(attempt) : error;
        }
        const delayMs = retryDelay(attempt, this.retryPolicy, this.random);
        const retry: BulkRetryEvent = {
          method: error instanceof BulkApiError ? error.method : '',
          path: error instanceof BulkApiError ? error.path : '',
          attempt,
          delayMs,
          reason: error instanceof BulkApiError ? `${error.status} ${error.errorCode}` : errorMessage(error),
        };
        this.emit('retry', retry);
        // eslint-disable-next-line no-await-in-loop
        await this.sleep(delayMs, signal);
      }
    }
  }

  /**
   * One JSON call through the Connection. The Connection's transport is wrapped to observe each
   * HTTP exchange's status (jsforce's errors do not carry it, and 5xx vs 4xx decides a retry) and
   * to end jsforce's refresh loop: on every 401 jsforce refreshes and sends again, without limit,
   * so a session the org keeps refusing would spin forever. After two refused exchanges the next
   * one is not sent and the call fails as an invalid session. Otherwise the exchange is untouched.
   */
  private async sendJson(method: HttpMethod, url: URL, body?: object): Promise<unknown> {
    const path = url.pathname;
    // eslint-disable-next-line no-underscore-dangle -- jsforce offers no other way to see statuses
    const transport = this.connection._transport;
    type Exchange = ReturnType<typeof transport.httpRequest>;
    let lastStatus = 0;
    let refused = 0;
    const observed = {
      httpRequest: (request: unknown, options: unknown): Exchange => {
        if (refused >= MAX_REFUSED_EXCHANGES) {
          const stop = Promise.reject(new Error('the org kept refusing the refreshed session')) as Exchange;
          stop.stream = (): ReturnType<Exchange['stream']> => new PassThrough();
          return stop;
        }
        const started = Date.now();
        const exchange = transport.httpRequest(
          request as Parameters<typeof transport.httpRequest>[0],
          options as never,
        );
        exchange.then(
          (response: ExchangeResult) => {
            lastStatus = response.statusCode;
            if (response.statusCode === 401) refused++;
            this.emitRequest(method, path, response.statusCode, started);
          },
          () => {
            lastStatus = 0;
            this.emitRequest(method, path, 0, started);
          },
        );
        return exchange;
      },
    };
    const options = {
      transport: observed,
      retry: { maxRetries: 0, methods: [] },
      timeout: this.requestTimeoutMs,
    } as unknown as JsonMap;
    try {
      const result: unknown = await this.connection.request(
        { method, url: url.toString(), headers: { ...JSON_HEADERS }, ...(body ? { body: JSON.stringify(body) } : {}) },
        options,
      );
      if (typeof result === 'string' && result.length > 0) return JSON.parse(result) as unknown;
      return result;
    } catch (error) {
      if (refused >= MAX_REFUSED_EXCHANGES) {
        throw new BulkApiError(
          { method, path, status: 401, errorCode: 'INVALID_SESSION_ID', serverMessage: errorMessage(error) },
          error,
        );
      }
      throw this.toBulkApiError(error, method, path, lastStatus);
    }
  }

  private toBulkApiError(error: unknown, method: string, path: string, status: number): BulkApiError {
    if (error instanceof BulkApiError) return error;
    if (error instanceof SyntaxError) {
      return new BulkApiError(
        { method, path, status, errorCode: 'UNEXPECTED_RESPONSE', serverMessage: error.message },
        error,
      );
    }
    if (status === 0) {
      return new BulkApiError(
        {
          method,
          path,
          status,
          errorCode: networkErrorCode(error) ?? 'NETWORK_ERROR',
          serverMessage: errorMessage(error),
        },
        error,
      );
    }
    const { errorCode, data } = error as { errorCode?: unknown; data?: unknown };
    // jsforce reports several errors as MULTIPLE_API_ERRORS with the list in `data`
    const first: unknown = Array.isArray(data) ? data[0] : undefined;
    const firstCode = first && typeof first === 'object' ? (first as { errorCode?: unknown }).errorCode : undefined;
    const code =
      typeof firstCode === 'string' ? firstCode : typeof errorCode === 'string' ? errorCode : `ERROR_HTTP_${status}`;
    return new BulkApiError(
      {
        method,
        path,
        status,
        errorCode: code,
        serverMessage: shorten(error instanceof Error ? error.message : String(error)),
      },
      error,
    );
  }

  private expectJobInfo(method: string, url: URL, value: unknown): IngestJobInfo {
    if (isJobInfo(value)) return value;
    throw new BulkApiError({
      method,
      path: url.pathname,
      status: 200,
      errorCode: 'UNEXPECTED_RESPONSE',
      serverMessage: shorten(JSON.stringify(value) ?? String(value), 200),
    });
  }

  private async changeState(
    jobId: string,
    state: 'UploadComplete' | 'Aborted',
    landed: (info: IngestJobInfo) => boolean,
  ): Promise<IngestJobInfo> {
    const url = this.jobUrl(`/${jobId}`);
    return this.withRetry(async (attempt) => {
      try {
        return this.expectJobInfo('PATCH', url, await this.sendJson('PATCH', url, { state }));
      } catch (error) {
        if (attempt > 1 && error instanceof BulkApiError && error.errorCode === 'INVALIDJOBSTATE') {
          const info = await this.info(jobId);
          if (landed(info)) return info;
        }
        throw error;
      }
    });
  }

  /**
   * Renews the session after a raw exchange got a 401, unless another call already did since
   * `tokenUsed` was sent. It makes the same GET of the API root that @salesforce/core's
   * `Connection.refreshAuth()` makes — through `connection.request`, so on its 401 jsforce's refresh
   * delegate gets a new token from core's AuthInfo (refresh token or JWT) — but through sendJson,
   * so the call is counted and jsforce's endless refresh loop is cut.
   */
  private async refreshSession(tokenUsed: string | null | undefined): Promise<void> {
    if (this.connection.accessToken && this.connection.accessToken !== tokenUsed) return;
    const started = Date.now();
    await this.sendJson('GET', new URL(`/services/data/v${this.apiVersion}`, this.connection.instanceUrl));
    const event: BulkRefreshEvent = { ms: Date.now() - started };
    this.emit('refresh', event);
  }

  private async downloadOnce(jobId: string, kind: ResultKind, url: URL, partial: string): Promise<SavedResults> {
    const path = url.pathname;
    for (let refreshed = false; ; refreshed = true) {
      const token = this.connection.accessToken ?? undefined;
      const started = Date.now();
      let counter: CsvRecordCounter | undefined;
      const writeToDisk = async (response: IncomingMessage): Promise<void> => {
        counter = new CsvRecordCounter();
        // committed (fsync, rename, folder fsync) by saveResults once the whole body is in
        await pipeline(response, counter, createWriteStream(partial, { mode: 0o600 }));
        const announced = Number(response.headers['content-length']);
        if (Number.isFinite(announced) && announced !== counter.bytes) {
          throw resultsTruncatedError(kind, jobId, counter.bytes, announced);
        }
      };
      let outcome;
      try {
        // eslint-disable-next-line no-await-in-loop -- a second GET only ever follows a 401
        outcome = await getStream(url, this.rawHeaders(token, { accept: 'text/csv' }), this.idleTimeoutMs, writeToDisk);
      } catch (error) {
        this.emitRequest('GET', path, counter ? 200 : 0, started);
        const code = networkErrorCode(error);
        if (code === undefined) throw error;
        throw new BulkApiError(
          { method: 'GET', path, status: 0, errorCode: code, serverMessage: errorMessage(error), jobId },
          error,
        );
      }
      this.emitRequest('GET', path, outcome.status, started);
      if (outcome.status === 200 && counter) return { records: counter.records, bytes: counter.bytes };
      if (outcome.status === 401 && !refreshed) {
        // eslint-disable-next-line no-await-in-loop
        await this.refreshSession(token);
        continue;
      }
      const { errorCode, message } = parseErrorBody(outcome.status, outcome.text);
      throw new BulkApiError({ method: 'GET', path, status: outcome.status, errorCode, serverMessage: message, jobId });
    }
  }
}
