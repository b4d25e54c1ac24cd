/*
 * Replay of the row pass (src/prepare/): the `source.prepared` lines of a step, and the files the
 * run derived from its sources (prepared and partitioned), found by path. Beside state.ts, which
 * calls it, to keep that reducer's file within the house limit.
 */
import type { SourceFingerprint } from './events.js';
import type { EventOf, StepState } from './state.js';

/**
 * Records a prepared source on its step; `twice` (recording nothing) when the source was prepared
 * already or chunks were cut from it directly: a source is rewritten once, before any chunk of it.
 */
export function applyPrepared(step: StepState, event: EventOf<'source.prepared'>, twice: () => never): void {
  const again =
    (step.prepared ?? []).some((known) => known.source === event.source) ||
    step.chunks.some((chunk) => chunk.file === event.source) ||
    (step.partitions ?? []).some((known) => known.source === event.source);
  if (again) twice();
  // eslint-disable-next-line no-param-reassign -- replay folds events into the state it is given
  (step.prepared ??= []).push(event);
}

/** the fingerprint of a file the step derived from one of its sources, if it did */
export function derivedFingerprint(step: StepState, file: string): SourceFingerprint | undefined {
  for (const partition of step.partitions ?? []) {
    const derived = partition.files.find((candidate) => candidate.file === file);
    if (derived) return derived;
  }
  return (step.prepared ?? []).find((prepared) => prepared.file.file === file)?.file;
}

/** the records of the step's sources that the row pass did not send */
export function rejectedRecords(step: StepState): number {
  return (step.prepared ?? []).reduce(
    (sum, prepared) => sum + prepared.rejected.reduce((total, rejected) => total + rejected.records, 0),
    0,
  );
}
