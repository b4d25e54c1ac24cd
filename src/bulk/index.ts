/*
 * Bulk API 2.0 ingest jobs over the Connection of --target-org. `IngestJobClient` is the one way
 * the engine talks to the org; it emits 'request' (BulkRequestEvent: one per HTTP exchange, for
 * API-call accounting), 'retry' (BulkRetryEvent) and 'refresh' (BulkRefreshEvent).
 */
export {
  IngestJobClient,
  type IngestJobClientOptions,
  type BulkRetryEvent,
  type BulkRefreshEvent,
} from './ingestJobClient.js';
export {
  BulkApiError,
  UploadInterruptedError,
  isRetryable,
  isTransientStatus,
  type BulkApiErrorData,
  type UploadInterruptedData,
} from './errors.js';
export { CsvRecordCounter } from './csvRecordCounter.js';
export * from './types.js';
