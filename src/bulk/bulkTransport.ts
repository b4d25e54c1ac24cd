/*
 * How the ingest client reaches the org: JSON calls through the `Connection` of --target-org, with
 * this project's retry policy, the accounting events ('request', 'retry', 'refresh') emitted on
 * the client, the session refresh after a 401, and the Bulk API's error bodies turned into
 * BulkApiError. Every exchange goes through the org door (orgHttp.ts), so the user's proxy applies.
 *
 * JSON calls go through `connection.request`, so the CLI's auth headers and token refresh (jsforce's
 * refresh delegate, fed by @salesforce/core's AuthInfo) apply. jsforce's own transport retry is
 * switched off for them: it skips POST and PATCH, and it would hide calls from the accounting.
 * Retries and refreshes are logged at debug level; the org's concurrent-request limit, which makes
 * a run wait, is also a warning through @salesforce/core's Lifecycle (so --json carries it).
 */
import type { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders } from 'node:http';
import { type Connection, Lifecycle, Messages, SFDX_HTTP_HEADERS } from '@salesforce/core';
import {
  concurrentLimitDelay,
  DEFAULT_RETRY_POLICY,
  retryDelay,
  type RetryPolicy,
  type Sleep,
  sleep,
} from './backoff.js';
import { badApiVersionError, BulkApiError, isConcurrentRequestLimit, isRetryable, networkErrorCode } from './errors.js';
import { debugLog, OrgCall } from './orgHttp.js';
import { ProxySettingError } from './proxy.js';
import type { BulkRequestEvent, IngestJobInfo, RetryOptions } from './types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'bulk');

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
  /** replaces the clock the poll schedule reads (tests) */
  now?: () => number;
};

/** Emitted as 'retry' before waiting to try a call again. */
export type BulkRetryEvent = { method: string; path: string; attempt: number; delayMs: number; reason: string };

/** Emitted as 'refresh' after the session was refreshed because the org answered 401. */
export type BulkRefreshEvent = { ms: number };

/** 401 answers within one JSON call (each followed by a jsforce refresh) before it gives up. */
const MAX_REFUSED_EXCHANGES = 2;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' };

type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export function errorMessage(error: unknown): string {
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
export function parseErrorBody(status: number, text: string): { errorCode: string; message: string } {
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

/** The org end of an IngestJobClient; events go to the client's listeners. */
export class BulkTransport {
  public readonly apiVersion: string;
  public readonly idleTimeoutMs: number;
  public readonly sleep: Sleep;
  private readonly retryPolicy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly random: () => number;
  private concurrentLimitWarned = false;

  public constructor(
    public readonly connection: Connection,
    options: IngestJobClientOptions,
    private readonly events: EventEmitter,
  ) {
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

  public jobUrl(suffix: string): URL {
    return new URL(`/services/data/v${this.apiVersion}/jobs/ingest${suffix}`, this.connection.instanceUrl);
  }

  public rawHeaders(token: string | undefined, extra: OutgoingHttpHeaders): OutgoingHttpHeaders {
    return {
      'user-agent': SFDX_HTTP_HEADERS['user-agent'],
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extra,
    };
  }

  public emitRequest(method: string, path: string, status: number, started: number): void {
    const event: BulkRequestEvent = { method, path, status, ms: Date.now() - started };
    this.events.emit('request', event);
  }

  /** Tries `call` up to the policy's attempts while it fails with something retryable. */
  public async withRetry<T>(call: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        // eslint-disable-next-line no-await-in-loop -- tries are sequential by definition
        return await call(attempt);
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.retryPolicy.attempts) {
          throw error instanceof BulkApiError && attempt > 1 ? error.afterAttempts(attempt) : error;
        }
        const concurrentLimit =
          error instanceof BulkApiError && isConcurrentRequestLimit(error.errorCode, error.serverMessage);
        const delayMs = concurrentLimit
          ? concurrentLimitDelay(attempt, this.retryPolicy, this.random)
          : retryDelay(attempt, this.retryPolicy, this.random);
        const retry: BulkRetryEvent = {
          method: error instanceof BulkApiError ? error.method : '',
          path: error instanceof BulkApiError ? error.path : '',
          attempt,
          delayMs,
          reason: error instanceof BulkApiError ? `${error.status} ${error.errorCode}` : errorMessage(error),
        };
        debugLog(
          `retry ${attempt} of ${retry.method} ${retry.path} in ${delayMs} ms: ${retry.reason} ${errorMessage(error)}`,
        );
        if (concurrentLimit) this.warnConcurrentLimit(error, delayMs);
        this.events.emit('retry', retry);
        // eslint-disable-next-line no-await-in-loop
        await this.sleep(delayMs, signal);
      }
    }
  }

  /**
   * One JSON call through the Connection, every exchange of it through the org door. The door
   * reports each exchange's status (jsforce's errors do not carry it, and 5xx vs 4xx decides a
   * retry) and ends jsforce's refresh loop: on every 401 jsforce refreshes and sends again, without
   * limit, so a session the org keeps refusing would spin forever. After two refused exchanges the
   * next one is not sent and the call fails as an invalid session.
   */
  public async sendJson(method: HttpMethod, url: URL, body?: object): Promise<unknown> {
    const path = url.pathname;
    const call = new OrgCall(this.connection, {
      timeoutMs: this.requestTimeoutMs,
      maxRefused: MAX_REFUSED_EXCHANGES,
      onExchange: (status, started) => this.emitRequest(method, path, status, started),
    });
    try {
      const result: unknown = await call.send({
        method,
        url: url.toString(),
        headers: { ...JSON_HEADERS },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (typeof result === 'string' && result.length > 0) return JSON.parse(result) as unknown;
      return result;
    } catch (error) {
      if (error instanceof ProxySettingError) throw error;
      if (call.refused >= MAX_REFUSED_EXCHANGES) {
        throw new BulkApiError(
          { method, path, status: 401, errorCode: 'INVALID_SESSION_ID', serverMessage: errorMessage(error) },
          error,
        );
      }
      throw this.toBulkApiError(error, method, path, call.lastStatus);
    }
  }

  public expectJobInfo(method: string, url: URL, value: unknown): IngestJobInfo {
    if (isJobInfo(value)) return value;
    throw new BulkApiError({
      method,
      path: url.pathname,
      status: 200,
      errorCode: 'UNEXPECTED_RESPONSE',
      serverMessage: shorten(JSON.stringify(value) ?? String(value), 200),
    });
  }

  /**
   * Renews the session after a raw exchange got a 401, unless another call already did since
   * `tokenUsed` was sent. It makes the same GET of the API root that @salesforce/core's
   * `Connection.refreshAuth()` makes — through `connection.request`, so on its 401 jsforce's refresh
   * delegate gets a new token from core's AuthInfo (refresh token or JWT) — but through sendJson,
   * so the call is counted and jsforce's endless refresh loop is cut.
   */
  public async refreshSession(tokenUsed: string | null | undefined): Promise<void> {
    if (this.connection.accessToken && this.connection.accessToken !== tokenUsed) return;
    const started = Date.now();
    await this.sendJson('GET', new URL(`/services/data/v${this.apiVersion}`, this.connection.instanceUrl));
    const event: BulkRefreshEvent = { ms: Date.now() - started };
    debugLog(`session refreshed after a 401 in ${event.ms} ms`);
    this.events.emit('refresh', event);
  }

  /** Once per client: the run slows down for a reason outside it, and the user should know why. */
  private warnConcurrentLimit(error: BulkApiError, delayMs: number): void {
    if (this.concurrentLimitWarned) return;
    this.concurrentLimitWarned = true;
    void Lifecycle.getInstance().emitWarning(
      messages.getMessage('warning.ConcurrentRequestLimit', [
        error.serverMessage,
        error.method,
        error.path,
        String(delayMs),
      ]),
    );
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
}
