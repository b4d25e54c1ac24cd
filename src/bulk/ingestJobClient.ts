/*
 * The Bulk API 2.0 ingest job lifecycle over the `Connection` of --target-org: create, streamed
 * upload, close, poll, results streamed to disk, abort, delete, list. The one class the engine
 * uses; how calls reach the org (retry, refresh, accounting events) is bulkTransport.ts, the
 * streamed upload and downloads are jobData.ts.
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Connection } from '@salesforce/core';
import { writeAtomically } from '../journal/durable.js';
import { BulkTransport, type IngestJobClientOptions } from './bulkTransport.js';
import { BulkApiError, isRetryable, jobStillOpenError, pollAbortedError } from './errors.js';
import { downloadResultOnce, uploadJobData } from './jobData.js';
import { PollSchedule } from './pollSchedule.js';
import {
  type CreateJobRequest,
  type IngestJobInfo,
  isTerminalJobState,
  type PollOptions,
  type ResultKind,
  type SavedResults,
} from './types.js';

export type { BulkRefreshEvent, BulkRetryEvent, IngestJobClientOptions } from './bulkTransport.js';

/** Consecutive failed status calls (each already retried) after which `poll` gives up. */
const MAX_FAILED_POLLS = 5;

const RESULT_PATHS: Record<ResultKind, string> = {
  successful: 'successfulResults',
  failed: 'failedResults',
  unprocessed: 'unprocessedrecords',
};

type ListPage = { done?: boolean; records?: IngestJobInfo[]; nextRecordsUrl?: string | null };

/**
 * What a close or abort (PATCH state) came to. `landed`: the job is in the state asked for (for a
 * close: UploadComplete or past it). Otherwise `info` is the job as a GET found it after the PATCH
 * failed (absent when the org no longer has the job) and `error` the PATCH's own failure, for the
 * caller to decide from the job's real state.
 */
export type StateChange =
  { landed: true; info: IngestJobInfo } | { landed: false; info: IngestJobInfo | undefined; error: unknown };

type StateRequest = {
  state: 'UploadComplete' | 'Aborted';
  /** the job reached what was asked */
  landed: (info: IngestJobInfo) => boolean;
  /** the job is still where the PATCH found it: a transient failure may be tried again */
  pending: (info: IngestJobInfo) => boolean;
};

const CLOSE: StateRequest = {
  state: 'UploadComplete',
  landed: (info) => info.state !== 'Open' && info.state !== 'Aborted',
  pending: (info) => info.state === 'Open',
};

const ABORT: StateRequest = {
  state: 'Aborted',
  landed: (info) => info.state === 'Aborted',
  pending: (info) => !isTerminalJobState(info.state),
};

export class IngestJobClient extends EventEmitter {
  public readonly apiVersion: string;

  private readonly transport: BulkTransport;
  private readonly now: () => number;

  public constructor(connection: Connection, options: IngestJobClientOptions = {}) {
    super();
    this.transport = new BulkTransport(connection, options, this);
    this.now = options.now ?? Date.now;
    this.apiVersion = this.transport.apiVersion;
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
    const url = this.transport.jobUrl('');
    return this.transport.withRetry(async () =>
      this.transport.expectJobInfo('POST', url, await this.transport.sendJson('POST', url, body)),
    );
  }

  /**
   * PUT the job's data: one request whose body is `openBody()` streamed as it is read. On a 401 the
   * org refused the whole request, so the job is still empty: refresh, open the body again, PUT
   * again (once). Any other break (connection dropped, 5xx) throws UploadInterruptedError and the
   * job must be aborted: it may hold part of the body, and a second PUT is refused anyway.
   */
  public async upload(jobId: string, openBody: () => Readable): Promise<{ bytes: number }> {
    return uploadJobData(this.transport, jobId, openBody);
  }

  /** PATCH state UploadComplete (see requestState): the job's info, or the PATCH's error when it did not land. */
  public async close(jobId: string): Promise<IngestJobInfo> {
    return landedOrThrow(await this.requestState(jobId, 'UploadComplete'));
  }

  /** PATCH state Aborted (see requestState): the job's info, or the PATCH's error when it did not land. */
  public async abort(jobId: string): Promise<IngestJobInfo> {
    return landedOrThrow(await this.requestState(jobId, 'Aborted'));
  }

  /**
   * PATCH the job's state to UploadComplete (close) or Aborted. The org's answer to an illegal
   * transition is documented by name only; no real answer is public (reference §Close / abort), so
   * its error code decides nothing here. After any failed PATCH — an error answer of whatever code,
   * or no answer — the job is looked up (one GET) and its real state decides: the state asked for
   * (or, for a close, past it) is success, whichever try of ours made it; a job still where it was
   * after a transient failure is tried again with the usual back-off; any other state is handed to
   * the caller with the PATCH's error. When the GET fails too, the PATCH's own error is what
   * counts: retried when transient, and thrown (after its tries) as any call's error is. A PATCH
   * refused with REQUEST_LIMIT_EXCEEDED is treated so without the GET.
   */
  public async requestState(jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<StateChange> {
    const request = state === 'UploadComplete' ? CLOSE : ABORT;
    const url = this.transport.jobUrl(`/${jobId}`);
    return this.transport.withRetry(async (): Promise<StateChange> => {
      try {
        const answer = await this.transport.sendJson('PATCH', url, { state });
        return { landed: true, info: this.transport.expectJobInfo('PATCH', url, answer) };
      } catch (error) {
        // Refused at the org's request limits: a GET now would be refused the same way (the daily
        // allowance) or adds a long request to a crowd (ConcurrentPerOrgLongTxn), so the PATCH's error
        // stands as when the GET fails (retried when transient). Nothing is concluded from it: a
        // PATCH that landed after all is found by the next close or abort, which looks the job up.
        if (refusedAtLimits(error)) throw error;
        const found = await this.lookUp(jobId);
        if (found === 'unknown') throw error;
        if (found && request.landed(found)) return { landed: true, info: found };
        if (found && request.pending(found) && isRetryable(error)) throw error;
        return { landed: false, info: found, error };
      }
    });
  }

  /** DELETE the job (only UploadComplete or terminal jobs). A retry answered NOT_FOUND means an earlier try landed. */
  public async delete(jobId: string): Promise<void> {
    const url = this.transport.jobUrl(`/${jobId}`);
    await this.transport.withRetry(async (attempt) => {
      try {
        await this.transport.sendJson('DELETE', url);
      } catch (error) {
        if (attempt > 1 && error instanceof BulkApiError && error.status === 404) return;
        throw error;
      }
    });
  }

  /** GET the job's info (one status call, retried on transient trouble). */
  public async info(jobId: string, signal?: AbortSignal): Promise<IngestJobInfo> {
    const url = this.transport.jobUrl(`/${jobId}`);
    return this.transport.withRetry(
      async () => this.transport.expectJobInfo('GET', url, await this.transport.sendJson('GET', url)),
      signal,
    );
  }

  /**
   * Waits for the job to finish, on a PollSchedule: back-off from `initialMs` up to `maxMs` until the
   * job reports progress, then near its predicted end. Resolves with the info of JobComplete, Failed
   * or Aborted (it does not throw on those); throws if the job is still Open (never closed).
   * Transient failures of a status call are retried by the call itself and do not end the poll,
   * unless MAX_FAILED_POLLS in a row fail. The signal stops the wait with an AbortError; the job
   * keeps running in the org.
   */
  public async poll(jobId: string, options: PollOptions): Promise<IngestJobInfo> {
    const { signal, onPoll } = options;
    const schedule = new PollSchedule(
      {
        initialMs: options.initialMs,
        maxMs: options.maxMs,
        ...(options.expectedRecords === undefined ? {} : { expectedRecords: options.expectedRecords }),
        ...(options.rateHint === undefined ? {} : { rateHint: options.rateHint }),
      },
      this.now(),
    );
    let delay = schedule.first();
    let last: IngestJobInfo | undefined;
    let failedPolls = 0;
    for (;;) {
      try {
        // eslint-disable-next-line no-await-in-loop -- polling is a sequence of waits by design
        await this.sleepUnlessWoken(delay, options);
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
        delay = schedule.afterFailure();
        continue;
      }
      last = info;
      onPoll?.(info);
      if (isTerminalJobState(info.state)) return info;
      if (info.state === 'Open') throw jobStillOpenError(jobId);
      delay = schedule.next(info, this.now());
    }
  }

  /**
   * Streams one result file of a finished job to `file`: into a temporary file in the same folder,
   * fsynced, then renamed, so `file` is either absent or complete. The folder is created (0o700)
   * if missing; the file is 0o600 (it holds customer data). Records are counted as they stream
   * (quoted line feeds inside values do not count). Retried from the start on transient trouble.
   */
  public async saveResults(jobId: string, kind: ResultKind, file: string): Promise<SavedResults> {
    const url = this.transport.jobUrl(`/${jobId}/${RESULT_PATHS[kind]}`);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return writeAtomically(file, (partial) =>
      this.transport.withRetry(async () => downloadResultOnce(this.transport, jobId, kind, url, partial)),
    );
  }

  /** Every ingest job the org lists (all pages, following nextRecordsUrl). */
  public async *list(
    options: { jobType?: 'V2Ingest' | 'Classic' | 'BigObjectIngest' } = {},
  ): AsyncGenerator<IngestJobInfo> {
    let url: URL | undefined = this.transport.jobUrl(options.jobType ? `?jobType=${options.jobType}` : '');
    while (url) {
      const pageUrl: URL = url;
      // eslint-disable-next-line no-await-in-loop -- each page names the next
      const page = (await this.transport.withRetry(async () => this.transport.sendJson('GET', pageUrl))) as
        ListPage | undefined;
      for (const record of page?.records ?? []) yield record;
      url =
        page?.done === false && page.nextRecordsUrl
          ? new URL(page.nextRecordsUrl, this.transport.connection.instanceUrl)
          : undefined;
    }
  }

  /**
   * The id of the user this client acts as, e.g. to pick its jobs from `list`: from the CLI's auth
   * record when it has one, else from the OpenID Connect userinfo endpoint.
   */
  public async currentUserId(): Promise<string> {
    const known = this.transport.connection.getAuthInfoFields().userId;
    if (typeof known === 'string' && known.length > 0) return known;
    const url = new URL('/services/oauth2/userinfo', this.transport.connection.instanceUrl);
    const info = (await this.transport.withRetry(async () => this.transport.sendJson('GET', url))) as
      { user_id?: unknown } | undefined;
    if (typeof info?.user_id !== 'string') throw new Error(`GET ${url.pathname} answered without a user_id`);
    return info.user_id;
  }

  /**
   * One GET of the job, not retried (the PATCH it follows is): its info, undefined when the org
   * answers that it has no such job, 'unknown' when the GET failed otherwise.
   */
  private async lookUp(jobId: string): Promise<IngestJobInfo | undefined | 'unknown'> {
    const url = this.transport.jobUrl(`/${jobId}`);
    try {
      return this.transport.expectJobInfo('GET', url, await this.transport.sendJson('GET', url));
    } catch (error) {
      if (error instanceof BulkApiError && (error.status === 404 || error.errorCode === 'NOT_FOUND')) return undefined;
      return 'unknown';
    }
  }

  /**
   * Waits `ms`; when `wake` tells of another job's end meanwhile, what is left of the wait is cut to
   * at most `initialMs` (once a wait), so the job's rate is measured again soon after the workers it
   * may now get. (Measured with the local org's realistic model, bench --compare 1M: a grouped job
   * that shared the workers with a serial-lane job at first was aimed from that rate and seen 22.7 s
   * late, of its 84 s; capping every wait instead spent more polls than back-off alone.)
   */
  private async sleepUnlessWoken(ms: number, options: PollOptions): Promise<void> {
    const { signal, wake } = options;
    if (!wake) return this.transport.sleep(ms, signal);
    const woken = new AbortController();
    const unsubscribe = wake.subscribe(() => woken.abort());
    const start = this.now();
    try {
      await this.transport.sleep(ms, signal ? AbortSignal.any([signal, woken.signal]) : woken.signal);
      return;
    } catch (reason) {
      if (signal?.aborted === true || !woken.signal.aborted) throw reason;
    } finally {
      unsubscribe();
    }
    const left = Math.max(0, ms - (this.now() - start));
    return this.transport.sleep(Math.min(left, options.initialMs), signal);
  }
}

function refusedAtLimits(error: unknown): boolean {
  return error instanceof BulkApiError && error.errorCode === 'REQUEST_LIMIT_EXCEEDED';
}

function landedOrThrow(change: StateChange): IngestJobInfo {
  if (change.landed) return change.info;
  throw change.error;
}
