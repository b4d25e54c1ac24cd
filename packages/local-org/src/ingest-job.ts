import { ApiError } from './api-error.js';
import { DELIMITERS, LINE_ENDINGS, type ColumnDelimiter, type LineEnding } from './csv-text.js';
import { formatDateTime, type Operation } from './rows.js';
import type { RecordStore } from './store.js';

export type IngestState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

export type IngestJob = {
  id: string;
  operation: Operation;
  object: string;
  createdById: string;
  createdDate: string;
  systemModstamp: string;
  state: IngestState;
  externalIdFieldName?: string;
  assignmentRuleId?: string;
  apiVersion: number;
  lineEnding: LineEnding;
  columnDelimiter: ColumnDelimiter;
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  retries: number;
  totalProcessingTime: number;
  apiActiveProcessingTime: number;
  apexProcessingTime: number;
  errorMessage?: string;
  uploaded: boolean;
  /** the uploaded header record as written, so result files can repeat it verbatim */
  headerText?: string;
  /** data rows already processed (results written): where processing resumes after a restart */
  rowsDone: number;
  /**
   * the realistic model's batches not yet ended when the org stopped, where each stopped: the job resumes
   * from them on the next start with the same data dir
   */
  suspendedBatches?: SuspendedBatch[];
};

/** A batch of the realistic model as a stop left it: its file of rows, and the first chunk not written. */
export type SuspendedBatch = {
  index: number;
  file: string;
  records: number;
  /** byte offset in the file of each chunk's first row */
  offsets: number[];
  /** the chunk size the offsets were cut with: a restart with another one cannot resume the batch */
  chunkRows: number;
  nextChunk: number;
  retries: number;
};

export const OPERATIONS: Operation[] = ['insert', 'update', 'upsert', 'delete', 'hardDelete'];

export type NewJobOptions = { store: RecordStore; hardDeleteEnabled: boolean; userId: string; newJobId: () => string };

/** An ingest job as POST …/jobs/ingest creates it, or the error a real org answers for the request. */
// eslint-disable-next-line complexity -- one check per job option, each with its own real error
export function newIngestJob(body: Record<string, unknown>, apiVersion: number, options: NewJobOptions): IngestJob {
  const objectName = body.object;
  if (typeof objectName !== 'string' || !objectName)
    throw new ApiError(400, 'INVALIDJOB', "InvalidJob : Required field 'object' is missing");
  const operation = OPERATIONS.find((o) => o.toLowerCase() === String(body.operation ?? '').toLowerCase());
  if (!operation) throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(body.operation)}`);
  const object = options.store.object(objectName);
  // real capture (reference §1): an object the org does not have at all is not an INVALIDENTITY
  if (!object) throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Unable to find object: ${objectName}`);
  if (!object.describe.bulkIngestable)
    throw new ApiError(400, 'INVALIDENTITY', `Entity '${objectName}' is not supported by the Bulk API.`);
  if (operation === 'hardDelete' && !options.hardDeleteEnabled) {
    throw new ApiError(
      400,
      'FEATURENOTENABLED',
      'Feature is not enabled: hardDelete requires the Bulk API Hard Delete permission',
    );
  }
  let externalIdFieldName: string | undefined;
  if (operation === 'upsert') {
    const name = body.externalIdFieldName;
    if (typeof name !== 'string' || !name)
      throw new ApiError(
        400,
        'INVALIDJOB',
        'InvalidJob : External ID was blank for ' +
          object.describe.name +
          '. An External ID must be specified for upsert.',
      );
    const field = object.field(name);
    if (!field || !(field.externalId || field.name === 'Id' || field.idLookup)) {
      throw new ApiError(
        400,
        'INVALIDJOB',
        `InvalidJob : Field name provided, ${name} does not match an External ID, Salesforce Id, ` +
          `or indexed field for ${object.describe.name}`,
      );
    }
    externalIdFieldName = field.name;
  }
  const contentType = body.contentType ?? 'CSV';
  if (contentType !== 'CSV')
    throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Unsupported content type: ${String(contentType)}`);
  const columnDelimiter = (body.columnDelimiter ?? 'COMMA') as ColumnDelimiter;
  if (!(columnDelimiter in DELIMITERS))
    throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid column delimiter: ${String(columnDelimiter)}`);
  const lineEnding = (body.lineEnding ?? 'LF') as LineEnding;
  if (!(lineEnding in LINE_ENDINGS))
    throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid line ending: ${String(lineEnding)}`);
  const now = formatDateTime(new Date());
  const job: IngestJob = {
    id: options.newJobId(),
    operation,
    object: object.describe.name,
    createdById: options.userId,
    createdDate: now,
    systemModstamp: now,
    state: 'Open',
    externalIdFieldName,
    assignmentRuleId: typeof body.assignmentRuleId === 'string' ? body.assignmentRuleId : undefined,
    apiVersion,
    lineEnding,
    columnDelimiter,
    numberRecordsProcessed: 0,
    numberRecordsFailed: 0,
    retries: 0,
    totalProcessingTime: 0,
    apiActiveProcessingTime: 0,
    apexProcessingTime: 0,
    uploaded: false,
    rowsDone: 0,
  };
  return job;
}
