/*
 * The manifest as written by the user (mirrors schemas/manifest.schema.json; a test proves they
 * agree) and as resolved for the engine (defaults applied, paths absolute, durations in ms).
 */

export type Operation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';
export type ColumnDelimiter = 'BACKQUOTE' | 'CARET' | 'COMMA' | 'PIPE' | 'SEMICOLON' | 'TAB';
export type LineEnding = 'LF' | 'CRLF';
/** how a step runs beside steps of its wave that write children of the same parent object */
export type SharedParents = 'serialize' | 'parallel';

/** Durations are strings with a unit: "500ms", "5s", "2m". */
export type Duration = string;

export type PollSettings = { initial?: Duration; max?: Duration };

/** A step fails its wave gate when its failed records exceed either bound. */
export type FailureThreshold = { percent?: number; records?: number };

export type ColumnMapping = {
  /** source column → field API name */
  rename?: Record<string, string>;
  /** source columns not sent to Salesforce */
  drop?: string[];
  /** field API name → value added to every record */
  constants?: Record<string, string>;
};

export type StepSettings = {
  operation?: Operation;
  externalIdField?: string;
  columnDelimiter?: ColumnDelimiter;
  lineEnding?: LineEnding;
  assignmentRuleId?: string;
  maxRecordsPerJob?: number;
  maxBytesPerJob?: number;
  poll?: PollSettings;
  failureThreshold?: FailureThreshold;
  /** jobs of one step open at once */
  parallelism?: number;
  /** rows failing with these codes are retried in new jobs (default UNABLE_TO_LOCK_ROW) */
  retry?: { codes?: string[]; attempts?: number };
  /** beside a step of its wave with the same parent object: after it (serialize) or at once */
  sharedParents?: SharedParents;
};

export type Step = StepSettings & {
  id?: string;
  object: string;
  source: string | string[];
  dependsOn?: string[];
  mapping?: ColumnMapping;
  /**
   * the source column holding the parent key rows are grouped by (lock-aware jobs); false: off
   * (the schema refuses true)
   */
  partitionBy?: string | boolean;
};

export type Manifest = {
  $schema?: string;
  name: string;
  description?: string;
  defaults?: StepSettings;
  steps: Step[];
  waves?: string[][];
  /** steps of one wave running at once */
  concurrency?: number;
  /** where runs are written; relative to the manifest; default .sf-migrate/runs */
  runFolder?: string;
};

export type ResolvedStep = {
  id: string;
  object: string;
  operation: Operation;
  externalIdField?: string;
  columnDelimiter: ColumnDelimiter;
  lineEnding: LineEnding;
  assignmentRuleId?: string;
  maxRecordsPerJob: number;
  maxBytesPerJob: number;
  poll: { initialMs: number; maxMs: number };
  failureThreshold: { percent?: number; records?: number };
  parallelism: number;
  retry: { codes: string[]; attempts: number };
  mapping: ColumnMapping;
  /** as written; absent: inferred from the step's single relationship column (plan/partitioning.ts) */
  partitionBy?: string | false;
  /** default serialize (plan/sharedParents.ts); absent in steps built by hand counts as serialize */
  sharedParents?: SharedParents;
  /** parent objects named by relationship columns of the step's source headers */
  parentObjects?: string[];
  /** the step's own dependsOn plus the steps its relationship columns imply (see LoadedManifest.implied) */
  dependsOn: string[];
  /** the patterns as written, relative to the manifest */
  sources: string[];
  /** absolute paths matched by the patterns, sorted, de-duplicated */
  files: string[];
};

/** A step depends on the step loading the parent object that one of its header columns looks up. */
export type ImpliedDependency = {
  step: string;
  dependsOn: string;
  column: string;
};

export type LoadedManifest = {
  /** absolute path of the manifest file */
  path: string;
  /** directory that relative paths resolve against */
  dir: string;
  name: string;
  raw: Manifest;
  steps: ResolvedStep[];
  /** waves of step ids, explicit or computed, in run order */
  waves: string[][];
  /** dependencies implied by relationship columns (`Account.Legacy_Id__c`) of the CSV headers */
  implied: ImpliedDependency[];
  concurrency: number;
  /** absolute */
  runFolder: string;
};
