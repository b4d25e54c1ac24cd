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

/**
 * One lookup: a source column (or several) turned into the Id of a record of the target org, matched
 * on one or more of its fields. Exactly one of `object`, `recordType`, `user`, `queue`, `group` says
 * what is matched (checked by src/lookup/manifestChecks.ts, so the error names the lookup).
 */
export type Lookup = {
  /** the source column(s) holding the key; as many as `matchOn` fields */
  column: string | string[];
  /** the field written with the Id; default RecordTypeId for `recordType`, OwnerId for users, queues, groups */
  field?: string;
  object?: string;
  matchOn?: string | string[];
  /** field = value pairs every matched record must have */
  where?: Record<string, string | number | boolean | null>;
  recordType?: 'DeveloperName' | 'Name';
  user?: 'Username' | 'Email' | 'FederationIdentifier';
  queue?: 'DeveloperName' | 'Name';
  group?: 'DeveloperName' | 'Name';
  /** what a key that matches no record does (default `fail`, or `default` when `default` is set) */
  onMissing?: 'fail' | 'default' | 'empty';
  /** a key, resolved through this lookup, used for unmatched keys (and inactive users) */
  default?: string;
  /** appended to every Username before matching (sandbox usernames); `user: "Username"` only */
  sandboxSuffix?: string;
  /** what a key matching an inactive user does (default `fail`); user lookups only */
  inactive?: 'fail' | 'default' | 'keep';
  /** compare keys with case (default false: as SOQL compares text) */
  caseSensitive?: boolean;
};

/**
 * A translation of one column's values before upload (src/prepare/valueMaps.ts): inline (`map`) or
 * from a two-column CSV file (`file`, relative to the manifest), exactly one of the two.
 */
export type ValueMap = {
  /** source value → value sent */
  map?: Record<string, string>;
  /** a CSV with a header and two columns: source value, value sent */
  file?: string;
  /** a value the map lacks: sent as it is, replaced by `default`, or the row is not sent (default) */
  onUnmapped?: 'pass' | 'default' | 'fail';
  /** the value sent for an unmapped value, with `onUnmapped: "default"` */
  default?: string;
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
  /** save the rows a job will change before it is uploaded, for rollback (default true) */
  beforeImage?: boolean;
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
  /** source columns turned into target Ids before upload (src/lookup/) */
  lookups?: Lookup[];
  /** source column → the map its values go through before upload */
  valueMaps?: Record<string, ValueMap>;
  /**
   * a relationship column to the step's own object (`Parent.Legacy_Id__c` on Account) is set in a
   * second pass after the records exist (default); false: sent with the records, in one pass
   */
  selfReference?: boolean;
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
  /** false: no before images (manifest `beforeImage: false`); absent: on */
  beforeImage?: false;
  /** as written; absent: inferred from the step's single relationship column (plan/partitioning.ts) */
  partitionBy?: string | false;
  /** as written (src/lookup/spec.ts resolves them) */
  lookups?: Lookup[];
  /** as written, with every `file` made absolute */
  valueMaps?: Record<string, ValueMap>;
  /** false: relationship columns to the step's own object are sent with the records (one pass) */
  selfReference?: false;
  /**
   * the second pass of a step whose rows reference records of the same step (src/prepare/selfReferences.ts):
   * upserts by `key` only the key and the self-referencing `columns` (uploaded names under `mapping`,
   * the first step's own), after `step` loaded the records
   */
  selfReferenceOf?: { step: string; key: string; columns: string[]; mapping: ColumnMapping };
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
