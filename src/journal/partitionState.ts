/*
 * Replay of the partition pass (engine/stepPartitioning.ts): the `source.partitioned` lines of a
 * step, and the fingerprint any file of the run was journaled with. Beside state.ts, which calls
 * it, to keep that reducer's file within the house limit (as lookupState.ts and preparedState.ts).
 */
import type { SourceFingerprint } from './events.js';
import { derivedFingerprint } from './preparedState.js';
import type { EventOf, RunState, StepState } from './state.js';

/** the sources a partition event took the rows of: its `source`, and those partitioned `with` it */
export function partitionedSources(event: EventOf<'source.partitioned'>): string[] {
  return [event.source, ...(event.with ?? [])];
}

/**
 * sources rewritten into derived files: each once, and never after chunks were cut from the
 * source itself (`twice` is called with the source, and throws)
 */
export function applyPartition(
  step: StepState,
  event: EventOf<'source.partitioned'>,
  twice: (source: string) => never,
): void {
  for (const source of partitionedSources(event)) {
    const again =
      (step.partitions ?? []).some((known) => partitionedSources(known).includes(source)) ||
      step.chunks.some((chunk) => chunk.file === source);
    if (again) twice(source);
  }
  // eslint-disable-next-line no-param-reassign -- replay folds events into the state it is given
  (step.partitions ??= []).push(event);
}

/**
 * The fingerprint a file was journaled with: a source as the run began, or a file derived from one.
 */
export function fingerprintOf(state: RunState, file: string): SourceFingerprint | undefined {
  const source = state.started?.sources.find((candidate) => candidate.file === file);
  if (source) return source;
  for (const step of state.steps.values()) {
    const derived = derivedFingerprint(step, file);
    if (derived) return derived;
  }
  return undefined;
}
