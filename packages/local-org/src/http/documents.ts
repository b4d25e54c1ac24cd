// Wire documents: the JSON bodies the org answers with, each in the field order a real org uses.
import type { IngestJob } from '../ingest-job.js';
import type { QueryJob } from '../query-jobs.js';
import type { ObjectDescribe } from '../describe.js';
import type { QueryResult } from '../soql.js';
import type { ObjectStore, RecordStore, StoredRecord } from '../store.js';
import { MASTER_RECORD_TYPE_ID, defaultRecordType } from '../record-types.js';

/** Summer '26 (reference §4: API versions go up to 67.0) */
export const MAX_API_VERSION = 67;
export const MIN_API_VERSION = 20;
const LIST_PAGE = 1000;

/** three releases a year from v62.0, Winter '25: Winter, Spring, Summer, then the next year's Winter */
function versionLabel(version: number): string {
  const offset = version - 62;
  const season = ['Winter', 'Spring', 'Summer'][((offset % 3) + 3) % 3];
  const year = 25 + Math.floor(offset / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

/** GET /services/data */
export function apiVersions(): Array<{ label: string; url: string; version: string }> {
  const versions = [];
  for (let v = MIN_API_VERSION; v <= MAX_API_VERSION; v++) {
    versions.push({ label: versionLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
  }
  return versions;
}

const RESOURCE_NAMES = [
  'tooling',
  'metadata',
  'eclair',
  'folders',
  'prechatForms',
  'contact-tracing',
  'chatter',
  'tabs',
  'appMenu',
  'quickActions',
  'queryAll',
  'commerce',
  'wave',
  'iot',
  'analytics',
  'search',
  'smartdatadiscovery',
  'identity',
  'composite',
  'parameterizedSearch',
  'fingerprint',
  'theme',
  'nouns',
  'domino',
  'event',
  'serverInfo',
  'sobjects',
  'connect',
  'actions',
  'support',
  'recent',
  'query',
  'process',
  'limits',
  'jobs',
  'localizedvalue',
  'licensing',
];

/** GET /services/data/vNN.N: the resources of a version; identity is the one absolute URL. */
export function resources(version: string, identityUrl: string): Record<string, string> {
  const base = `/services/data/v${version}`;
  const map: Record<string, string> = {};
  for (const name of RESOURCE_NAMES) map[name] = name === 'identity' ? identityUrl : `${base}/${name}`;
  return map;
}

export type Usage = { api: number; batches: number; queryJobs: number };

/** GET …/limits */
export function limits(dailyApiRequests: number, usage: Usage): Record<string, unknown> {
  const limit = (max: number, used: number): { Max: number; Remaining: number } => ({
    Max: max,
    Remaining: Math.max(0, max - used),
  });
  return {
    ConcurrentAsyncGetReportInstances: limit(200, 0),
    DailyApiRequests: limit(dailyApiRequests, usage.api),
    DailyAsyncApexExecutions: limit(250_000, 0),
    DailyBulkApiBatches: limit(15_000, usage.batches),
    DailyBulkV2QueryFileStorageMB: limit(976_562, 0),
    DailyBulkV2QueryJobs: limit(10_000, usage.queryJobs),
    DataStorageMB: limit(1024, 0),
    FileStorageMB: limit(1024, 0),
    HourlyTimeBasedWorkflow: limit(1000, 0),
    SingleEmail: limit(5000, 0),
  };
}

/** An object as the sobjects list and the describe answer start it. */
export function objectSummary(describe: ObjectDescribe, version: string): Record<string, unknown> {
  const url = `/services/data/v${version}/sobjects/${describe.name}`;
  const { fields, bulkIngestable, ...rest } = describe;
  void fields;
  void bulkIngestable;
  return {
    activateable: false,
    customSetting: false,
    deprecatedAndHidden: false,
    feedEnabled: false,
    hasSubtypes: false,
    isSubtype: false,
    layoutable: true,
    mergeable: false,
    mruEnabled: true,
    replicateable: true,
    retrieveable: true,
    searchable: true,
    triggerable: true,
    undeletable: true,
    ...rest,
    urls: {
      compactLayouts: `${url}/describe/compactLayouts`,
      rowTemplate: `${url}/{ID}`,
      describe: `${url}/describe`,
      sobject: url,
    },
  };
}

/** GET …/sobjects/:object/:id, with the `fields` parameter when given. */
export function recordJson(
  describe: ObjectDescribe,
  record: StoredRecord,
  version: string,
  fieldList: string | null,
): Record<string, unknown> {
  const wanted = fieldList ? fieldList.split(',').map((f) => f.trim().toLowerCase()) : undefined;
  const out: Record<string, unknown> = {
    attributes: { type: describe.name, url: `/services/data/v${version}/sobjects/${describe.name}/${record.Id}` },
  };
  for (const field of describe.fields) {
    if (!wanted || wanted.includes(field.name.toLowerCase())) out[field.name] = record[field.name] ?? null;
  }
  return out;
}

const APEX_TYPES: Record<string, string> = {
  id: 'Id',
  reference: 'Id',
  boolean: 'Boolean',
  int: 'Integer',
  double: 'Double',
  currency: 'Decimal',
  percent: 'Decimal',
  date: 'Date',
  datetime: 'Datetime',
};
const NUMBER_TYPES = ['int', 'double', 'currency', 'percent'];
const NOT_TEXT_TYPES = ['id', 'reference', 'boolean', ...NUMBER_TYPES, 'date', 'datetime'];
type ColumnField = { type: string; createable: boolean; updateable: boolean; custom: boolean };

function column(name: string, field: ColumnField | undefined, joinColumns: unknown[]): Record<string, unknown> {
  return {
    aggregate: false,
    apexType: field ? (APEX_TYPES[field.type] ?? 'String') : null,
    booleanType: field?.type === 'boolean',
    columnName: name,
    custom: field?.custom ?? false,
    displayName: name,
    foreignKeyName: null,
    insertable: field?.createable ?? false,
    joinColumns,
    numberType: NUMBER_TYPES.includes(field?.type ?? ''),
    textType: !NOT_TEXT_TYPES.includes(field?.type ?? 'id'),
    updatable: field?.updateable ?? false,
  };
}

/** The `columns=true` answer of the query resource: what `sf data query` reads to lay out its table. */
export function columnMetadata(result: QueryResult): Record<string, unknown> {
  const columns: Array<Record<string, unknown>> = [];
  for (const { alias } of result.aggregates) {
    const count = column(alias, undefined, []);
    columns.push({ ...count, aggregate: true, apexType: 'Integer', displayName: 'COUNT', numberType: true });
  }
  for (const c of result.columns) {
    // Parent paths nest: Owner.Name is column Owner with join column Name.
    let node: Record<string, unknown> | undefined;
    for (let i = c.resolve.length - 1; i >= 0; i--) {
      const step = c.resolve[i];
      const last = i === c.resolve.length - 1;
      const name = last ? step.field.name : (step.field.relationshipName ?? step.field.name);
      node = column(name, last ? step.field : undefined, node ? [node] : []);
    }
    const name = node?.columnName;
    const existing = columns.find((col) => col.columnName === name && (col.joinColumns as unknown[]).length > 0);
    if (existing && node && (node.joinColumns as unknown[]).length) {
      (existing.joinColumns as unknown[]).push(...(node.joinColumns as unknown[]));
    } else if (node) columns.push(node);
  }
  const object = result.object.describe;
  return {
    columnMetadata: columns,
    entityName: object.name,
    groupBy: false,
    idSelected: result.columns.some((c) => c.name === 'Id'),
    keyPrefix: object.keyPrefix,
  };
}

/** One page of GET …/jobs/ingest or …/jobs/query, filtered by `jobType`, paged by `queryLocator`. */
export function listPage(
  all: Array<Record<string, unknown>>,
  kind: 'ingest' | 'query',
  version: string,
  query: URLSearchParams,
): Record<string, unknown> {
  const jobType = query.get('jobType');
  const filtered = jobType ? all.filter((j) => j.jobType === jobType) : all;
  const locator = query.get('queryLocator');
  const start = locator ? Number(Buffer.from(locator, 'base64url').toString('utf8')) || 0 : 0;
  const records = filtered.slice(start, start + LIST_PAGE);
  const done = start + LIST_PAGE >= filtered.length;
  const next = Buffer.from(String(start + LIST_PAGE)).toString('base64url');
  const jobTypeParameter = jobType ? `&jobType=${jobType}` : '';
  return {
    done,
    records,
    nextRecordsUrl: done ? null : `/services/data/v${version}/jobs/${kind}?queryLocator=${next}${jobTypeParameter}`,
  };
}

// JobInfo documents. Ingest and query jobs share their head; an ingest job names its upload URL while Open.

type JobHead = Pick<
  IngestJob | QueryJob,
  'id' | 'object' | 'createdById' | 'createdDate' | 'systemModstamp' | 'apiVersion' | 'lineEnding' | 'columnDelimiter'
> & { operation: string; state: string; externalIdFieldName?: string };

/** The answer to a PATCH of an ingest job: the fields every JobInfo starts with. */
export function shortJobInfo(job: JobHead): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: job.createdDate,
    systemModstamp: job.systemModstamp,
    state: job.state,
    ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
  };
}

/** The short info, then the upload URL, the job type of a listed job, and the CSV format. */
function jobInfo(
  job: JobHead,
  extra: { contentUrl?: string; jobType?: 'V2Ingest' | 'V2Query' },
): Record<string, unknown> {
  return {
    ...shortJobInfo(job),
    ...(extra.contentUrl ? { contentUrl: extra.contentUrl } : {}),
    ...(extra.jobType ? { jobType: extra.jobType } : {}),
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  };
}

const contentUrl = (job: IngestJob, version: string): string | undefined =>
  job.state === 'Open' ? `services/data/v${version}/jobs/ingest/${job.id}/batches` : undefined;

/** The answer to POST …/jobs/ingest. */
export const createdIngestJobInfo = (job: IngestJob, version: string): Record<string, unknown> =>
  jobInfo(job, { contentUrl: contentUrl(job, version) });

/** An ingest job in GET …/jobs/ingest. */
export const listedIngestJob = (job: IngestJob, version: string): Record<string, unknown> =>
  jobInfo(job, { contentUrl: contentUrl(job, version), jobType: 'V2Ingest' });

/** GET …/jobs/ingest/:id */
export function ingestJobInfo(job: IngestJob, version: string): Record<string, unknown> {
  return {
    ...listedIngestJob(job, version),
    numberRecordsProcessed: job.numberRecordsProcessed,
    numberRecordsFailed: job.numberRecordsFailed,
    retries: job.retries,
    totalProcessingTime: job.totalProcessingTime,
    apiActiveProcessingTime: job.apiActiveProcessingTime,
    apexProcessingTime: job.apexProcessingTime,
    ...(job.errorMessage && job.state === 'Failed' ? { errorMessage: job.errorMessage } : {}),
  };
}

/** The answer to POST …/jobs/query and to its PATCH. */
export const createdQueryJobInfo = (job: QueryJob): Record<string, unknown> => jobInfo(job, {});

/** A query job in GET …/jobs/query. */
export const listedQueryJob = (job: QueryJob): Record<string, unknown> => jobInfo(job, { jobType: 'V2Query' });

/** GET …/jobs/query/:id */
export function queryJobInfo(job: QueryJob): Record<string, unknown> {
  return {
    ...listedQueryJob(job),
    numberRecordsProcessed: job.numberRecordsProcessed,
    retries: job.retries,
    totalProcessingTime: job.totalProcessingTime,
    isPkChunkingSupported: true,
    ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
  };
}

/**
 * The recordTypeInfos of an object's describe (REST describe; Apex's RecordTypeInfo names the same
 * properties: active, available, defaultRecordTypeMapping, developerName, master, name, recordTypeId):
 * the object's record types and the Master record type every object has (Id 012000000000000AAA). The
 * default is the record type a create without RecordTypeId gets (record-types.ts); a real org takes it
 * from the user's profile, which the local org does not model. Objects without a RecordTypeId: none.
 */
export function recordTypeInfos(store: RecordStore, object: ObjectStore, version: string): unknown[] {
  if (!object.field('RecordTypeId')) return [];
  const types = store.object('RecordType');
  const own = types
    ? types.findBy('SobjectType', object.describe.name).flatMap((id) => types.records.get(id) ?? [])
    : [];
  const fallback = defaultRecordType(store, object.describe.name);
  const info = (id: string, name: string, developerName: string, active: boolean, master: boolean): unknown => ({
    active,
    available: active,
    defaultRecordTypeMapping: (fallback ?? MASTER_RECORD_TYPE_ID) === id,
    developerName,
    master,
    name,
    recordTypeId: id,
    urls: { layout: `/services/data/v${version}/sobjects/${object.describe.name}/describe/layouts/${id}` },
  });
  return [
    ...own.map((r) => info(r.Id, String(r.Name), String(r.DeveloperName), r.IsActive === true, false)),
    info(MASTER_RECORD_TYPE_ID, 'Master', 'Master', true, true),
  ];
}
