/*
 * A job's data in and out: the streamed PUT of its CSV and the streamed GET of one result file.
 * Both go through the org door's streamed exchanges (orgHttp.ts, which says why) with the Connection's current
 * token, and refresh the session through the transport on a 401 — once, since a refused request
 * moved no data.
 */
import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type BulkTransport, errorMessage, parseErrorBody } from './bulkTransport.js';
import { CsvRecordCounter } from './csvRecordCounter.js';
import {
  BulkApiError,
  isConcurrentRequestLimit,
  isRetryable,
  isTransientStatus,
  networkErrorCode,
  resultsTruncatedError,
  UploadInterruptedError,
} from './errors.js';
import { getStream, putStream } from './orgHttp.js';
import type { ResultKind, SavedResults } from './types.js';

/** IngestJobClient.upload: one streamed PUT, sent again once after a 401 (see there for why). */
export async function uploadJobData(
  transport: BulkTransport,
  jobId: string,
  openBody: () => Readable,
): Promise<{ bytes: number }> {
  const url = transport.jobUrl(`/${jobId}/batches`);
  const path = url.pathname;
  for (let refreshed = false; ; refreshed = true) {
    const token = transport.connection.accessToken ?? undefined;
    const started = Date.now();
    // eslint-disable-next-line no-await-in-loop -- a second PUT only ever follows a refused first one
    const outcome = await putStream(
      url,
      transport.rawHeaders(token, { 'content-type': 'text/csv' }),
      openBody(),
      transport.idleTimeoutMs,
    );
    if (outcome.kind === 'failed') {
      transport.emitRequest('PUT', path, 0, started);
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
    transport.emitRequest('PUT', path, status, started);
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
        await transport.refreshSession(token);
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
    // a refusal for the org's concurrent long-running requests is transient too, and a "multiple contents"
    // answer means the org holds an earlier body of ours: either way the chunk goes again in a new job
    if (
      isTransientStatus(status) ||
      isConcurrentRequestLimit(errorCode, message) ||
      holdsAnUploadAlready(errorCode, message)
    ) {
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
 * The org's answer to a second PUT on a job (a real capture, v47, salesforce-api.md §1): BULK_API_ERROR
 * "Found multipe contents for job: <id>, please 'Close' / 'Abort' / 'Delete' the current Job …", their
 * typo included (the correct spelling is matched too, should they fix it). The only second PUT this
 * client sends follows a 401; if the first one reached the job after all, what the job holds is not
 * known to be whole, so the upload counts as interrupted: the job is aborted (abandonJob looks the job
 * up if the abort is refused) and its records go in a fresh job. Never closed, never a failed run.
 */
function holdsAnUploadAlready(errorCode: string, message: string): boolean {
  return errorCode === 'BULK_API_ERROR' && /^Found multipl?e contents for job/.test(message);
}

/** One try at one result file, streamed into `partial` and counted as it streams. */
export async function downloadResultOnce(
  transport: BulkTransport,
  jobId: string,
  kind: ResultKind,
  url: URL,
  partial: string,
): Promise<SavedResults> {
  const path = url.pathname;
  for (let refreshed = false; ; refreshed = true) {
    const token = transport.connection.accessToken ?? undefined;
    const started = Date.now();
    let counter: CsvRecordCounter | undefined;
    const writeToDisk = async (response: IncomingMessage): Promise<void> => {
      counter = new CsvRecordCounter();
      // committed (fsync, rename, folder fsync) by IngestJobClient.saveResults once the whole body is in
      await pipeline(response, counter, createWriteStream(partial, { mode: 0o600 }));
      const announced = Number(response.headers['content-length']);
      if (Number.isFinite(announced) && announced !== counter.bytes) {
        throw resultsTruncatedError(kind, jobId, counter.bytes, announced);
      }
    };
    let outcome;
    try {
      // eslint-disable-next-line no-await-in-loop -- a second GET only ever follows a 401
      outcome = await getStream(
        url,
        transport.rawHeaders(token, { accept: 'text/csv' }),
        transport.idleTimeoutMs,
        writeToDisk,
      );
    } catch (error) {
      transport.emitRequest('GET', path, counter ? 200 : 0, started);
      const code = networkErrorCode(error);
      if (code === undefined) throw error;
      throw new BulkApiError(
        { method: 'GET', path, status: 0, errorCode: code, serverMessage: errorMessage(error), jobId },
        error,
      );
    }
    transport.emitRequest('GET', path, outcome.status, started);
    if (outcome.status === 200 && counter) return { records: counter.records, bytes: counter.bytes };
    if (outcome.status === 401 && !refreshed) {
      // eslint-disable-next-line no-await-in-loop
      await transport.refreshSession(token);
      continue;
    }
    const { errorCode, message } = parseErrorBody(outcome.status, outcome.text);
    throw new BulkApiError({ method: 'GET', path, status: outcome.status, errorCode, serverMessage: message, jobId });
  }
}
