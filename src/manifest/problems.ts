/*
 * What validation finds. Every check reports into one list instead of throwing, so a user sees
 * every problem of a manifest in one run (CI fixes them all in one commit).
 */

export type ProblemSeverity = 'error' | 'warning';

export type ProblemCode =
  | 'InvalidJson'
  | 'JsonTooDeep'
  | 'DuplicateKey'
  | 'SchemaViolation'
  | 'DuplicateStepId'
  | 'UnsafeStepId'
  | 'StepIdsDifferInCase'
  | 'UnknownDependency'
  | 'DependencyCycle'
  | 'WavesBreakDependency'
  | 'StepMissingFromWaves'
  | 'StepInTwoWaves'
  | 'UnknownStepInWaves'
  | 'UpsertWithoutExternalId'
  | 'PollMaxBelowInitial'
  | 'SourceNotFound'
  | 'SourceUnreadable'
  | 'GlobTooBroad'
  | 'SourceOutsideManifest'
  | 'SourceEncoding'
  | 'DuplicateRecordKey'
  | 'RowWiderThanHeader'
  | 'ValueTooLong'
  | 'InvalidDateValue'
  | 'UnreadableRecord'
  | 'EmptyHeader'
  | 'MalformedHeader'
  | 'BlankColumn'
  | 'DuplicateColumn'
  | 'MissingExternalIdColumn'
  | 'MissingIdColumn'
  | 'PartitionColumnMissing'
  | 'DeleteNeedsIdOnly'
  | 'MappingColumnMissing'
  | 'MappingConflict'
  | 'ValueMapSource'
  | 'ValueMapDefault'
  | 'ValueMapFileUnreadable'
  | 'ValueMapColumnMissing'
  | 'ParentWithoutStep'
  | 'ParentStepLater'
  | 'PolymorphicWithoutType'
  | 'PolymorphicOrderReversed'
  | 'TypeOnNonPolymorphic'
  | 'PolymorphicTypeNotAllowed'
  | 'UnknownObject'
  | 'UnknownField'
  | 'UnknownRelationship'
  | 'NotAnExternalId'
  | 'FieldNotWritable'
  | 'ExternalIdFieldInvalid'
  | 'MissingRequiredField'
  | 'ApiBudget'
  | 'InvalidLookup'
  | 'LookupColumnMissing'
  | 'LookupFieldInSource'
  | 'LookupUnknownObject'
  | 'LookupUnknownField'
  | 'LookupFieldNotUnique';

export type Problem = {
  severity: ProblemSeverity;
  code: ProblemCode;
  /** JSON pointer into the manifest; '' is the root */
  pointer: string;
  /** 1-based position in the manifest file of what the pointer designates */
  line?: number;
  column?: number;
  /** the CSV file the problem is about */
  file?: string;
  message: string;
};

/** RFC 6901: the two characters a pointer segment must escape. */
export const pointerOf = (...segments: Array<string | number>): string =>
  segments.map((segment) => '/' + String(segment).replace(/~/g, '~0').replace(/\//g, '~1')).join('');

export const parsePointer = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));

export const errorsOf = (problems: Problem[]): Problem[] => problems.filter((p) => p.severity === 'error');
export const warningsOf = (problems: Problem[]): Problem[] => problems.filter((p) => p.severity === 'warning');

/** Manifest order: by position in the file, problems without one last, then by pointer. */
export const sortProblems = (problems: Problem[]): Problem[] =>
  [...problems].sort(
    (a, b) =>
      (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.pointer.localeCompare(b.pointer) ||
      (a.file ?? '').localeCompare(b.file ?? ''),
  );
