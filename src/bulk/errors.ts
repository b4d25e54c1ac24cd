/*
 * Typed errors of the ingest job client. The engine branches on them: `errorCode`/`status` of a
 * refused call, `isRetryable` for transient trouble, `UploadInterruptedError` for an upload that
 * must never be closed.
 */
import { Messages, SfError } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'bulk');

/** Error codes of the socket layer (node:http, undici) that mean "try again", never "you are wrong". */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'IDLE_TIMEOUT',
  'RESULTS_TRUNCATED',
]);

export type BulkApiErrorDetails = {
  method: string;
  /** path below the instance URL; never a query string that could carry anything secret */
  path: string;
  /** 0 when no HTTP response arrived (socket error, timeout) */
  status: number;
  /** the server's errorCode (e.g. INVALIDJOB), or ERROR_HTTP_<status>, or the socket error code */
  errorCode: string;
  /** the server's message, or the socket error's */
  serverMessage: string;
  /** tries made before giving up */
  attempts?: number;
  jobId?: string;
};

export type BulkApiErrorData = {
  errorCode: string;
  status: number;
  method: string;
  path: string;
  attempts: number;
  jobId?: string;
};

/**
 * REQUEST_LIMIT_EXCEEDED names two limits, told apart only by the message's first word (reference
 * §1, "Error responses"): `TotalRequests Limit exceeded.` (the daily API allowance: nothing helps
 * before the 24-hour window moves, so the run stops) and `ConcurrentPerOrgLongTxn Limit exceeded.`
 * (too many long-running requests in the org at this moment: transient, so back off and retry).
 * Salesforce's "API Request Limits and Allocations" documents the concurrent long-running request
 * limit; the message text is as the reference records it, with no public wire capture of our own.
 */
export function isConcurrentRequestLimit(errorCode: string, message: string): boolean {
  return errorCode === 'REQUEST_LIMIT_EXCEEDED' && /^\s*ConcurrentPerOrgLongTxn\b/.test(message);
}

function messageKey(details: BulkApiErrorDetails): string {
  const { status, errorCode } = details;
  if (errorCode === 'UNEXPECTED_RESPONSE') return 'error.UnexpectedResponse';
  if (status === 0) return 'error.NetworkFailure';
  // 407 is the proxy's answer, not the org's
  if (status === 407) return 'error.ProxyAuthentication';
  if (isConcurrentRequestLimit(errorCode, details.serverMessage)) return 'error.ConcurrentRequestLimit';
  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') return 'error.RequestLimitExceeded';
  if (errorCode === 'INVALID_SESSION_ID' || status === 401) return 'error.InvalidSession';
  if (errorCode === 'FEATURENOTENABLED') return 'error.FeatureNotEnabled';
  if (errorCode === 'INVALIDENTITY') return 'error.InvalidEntity';
  // real capture (salesforce-api.md §1): `InvalidJob : Unable to find object: Nope__c`; INVALIDJOB alone says less
  if (errorCode === 'INVALIDJOB' && details.serverMessage.includes('Unable to find object')) {
    return 'error.UnknownObject';
  }
  if (errorCode === 'NOT_FOUND' || status === 404) return 'error.JobNotFound';
  if (isTransientStatus(status)) return 'error.ServerError';
  return 'error.BulkApi';
}

function messageTokens(key: string, d: BulkApiErrorDetails): string[] {
  const attempts = String(d.attempts ?? 1);
  switch (key) {
    case 'error.NetworkFailure':
    case 'error.ConcurrentRequestLimit':
      return [d.method, d.path, attempts, d.serverMessage];
    case 'error.ServerError':
      return [d.method, d.path, String(d.status), d.errorCode, attempts, d.serverMessage];
    case 'error.BulkApi':
      return [d.method, d.path, String(d.status), d.errorCode, d.serverMessage];
    case 'error.UnexpectedResponse':
      return [d.method, d.path, String(d.status), d.serverMessage];
    default:
      return [d.method, d.path, d.serverMessage];
  }
}

/** A call to the ingest API that the org refused or that never got an answer. */
export class BulkApiError extends SfError<BulkApiErrorData> {
  public readonly errorCode: string;
  public readonly status: number;
  public readonly method: string;
  public readonly path: string;
  public readonly attempts: number;
  public readonly jobId?: string;
  public readonly serverMessage: string;

  public constructor(details: BulkApiErrorDetails, cause?: unknown) {
    const key = messageKey(details);
    super(
      messages.getMessage(key, messageTokens(key, details)),
      'BulkApiError',
      messages.getMessages(`${key}.actions`),
      cause instanceof Error ? cause : undefined,
    );
    this.errorCode = details.errorCode;
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.attempts = details.attempts ?? 1;
    this.jobId = details.jobId;
    this.serverMessage = details.serverMessage;
    this.code = details.errorCode;
    this.setData({
      errorCode: this.errorCode,
      status: this.status,
      method: this.method,
      path: this.path,
      attempts: this.attempts,
      ...(this.jobId ? { jobId: this.jobId } : {}),
    });
  }

  /** the same refusal, reported after `attempts` tries */
  public afterAttempts(attempts: number): BulkApiError {
    return new BulkApiError(
      {
        method: this.method,
        path: this.path,
        status: this.status,
        errorCode: this.errorCode,
        serverMessage: this.serverMessage,
        jobId: this.jobId,
        attempts,
      },
      this.cause,
    );
  }
}

export type UploadInterruptedData = {
  jobId: string;
  bytesSent: number;
  /** the HTTP status when the org answered with an error, 0 when no answer came */
  status: number;
  reason: string;
  /** where it broke: the connection, the org (5xx/429), or reading the source (not worth retrying) */
  origin: 'network' | 'server' | 'body';
};

/**
 * The upload did not complete: the job may hold part of the body. It must be aborted and its chunk
 * sent again in a new job — never closed, and never PUT to again (a second upload is refused, and a
 * partial one would load part of the chunk).
 */
export class UploadInterruptedError extends SfError<UploadInterruptedData> {
  public readonly jobId: string;
  public readonly bytesSent: number;
  public readonly status: number;
  public readonly origin: UploadInterruptedData['origin'];

  public constructor(details: UploadInterruptedData, cause?: unknown) {
    super(
      messages.getMessage('error.UploadInterrupted', [details.jobId, details.reason, String(details.bytesSent)]),
      'UploadInterruptedError',
      messages.getMessages('error.UploadInterrupted.actions'),
      cause instanceof Error ? cause : undefined,
    );
    this.jobId = details.jobId;
    this.bytesSent = details.bytesSent;
    this.status = details.status;
    this.origin = details.origin;
    this.setData(details);
  }
}

export function jobStillOpenError(jobId: string): SfError {
  const error = messages.createError('error.JobStillOpen', [jobId]);
  error.setData({ jobId, state: 'Open' });
  return error;
}

/** Rejection of `poll` when its signal fires; its name is AbortError like the platform's. */
export function pollAbortedError(jobId: string, lastState: string | undefined, reason?: unknown): SfError {
  const error = new SfError(
    messages.getMessage('error.PollAborted', [jobId, lastState ?? 'nothing yet']),
    'AbortError',
    messages.getMessages('error.PollAborted.actions', [jobId]),
    reason instanceof Error ? reason : undefined,
  );
  error.setData({ jobId, ...(lastState ? { state: lastState } : {}) });
  return error;
}

export function resultsTruncatedError(kind: string, jobId: string, received: number, announced: number): SfError {
  const error = new SfError(
    messages.getMessage('error.ResultsTruncated', [kind, jobId, String(received), String(announced)]),
    'ResultsTruncatedError',
  );
  error.code = 'RESULTS_TRUNCATED';
  return error;
}

export function badApiVersionError(version: string): SfError {
  return messages.createError('error.BadApiVersion', [version]);
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 420 || status === 429 || (status >= 500 && status !== 501);
}

/** The socket-level code of an error or of any error in its `cause` chain. */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Whether the same call may succeed if made again later: 408/420/429/5xx answers, no answer at all,
 * the org's limit of concurrent long-running requests (isConcurrentRequestLimit), and uploads
 * interrupted by the connection or the org (their chunk goes again in a new job; one interrupted
 * because the source could not be read is not retryable). Refusals (4xx, including the daily
 * REQUEST_LIMIT_EXCEEDED and an invalid session that refreshing did not fix) are not.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof UploadInterruptedError) return error.origin !== 'body';
  if (error instanceof BulkApiError) {
    if (isConcurrentRequestLimit(error.errorCode, error.serverMessage)) return true;
    if (error.errorCode === 'REQUEST_LIMIT_EXCEEDED') return false;
    return error.status === 0 || isTransientStatus(error.status);
  }
  return networkErrorCode(error) !== undefined;
}
