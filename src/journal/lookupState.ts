/*
 * The lookup snapshots of a run (`lookup.snapshot`, src/lookup/snapshots.ts) as replay folds them:
 * one per lookup key, never two. Kept beside the run state rather than in it (state.ts holds the
 * chunk protocol), keyed by the state object, so a state and its snapshots live and die together.
 */
import { Messages } from '@salesforce/core';
import type { JournalEvent } from './events.js';
import type { RunState } from './state.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

export type LookupSnapshotEvent = Extract<JournalEvent, { type: 'lookup.snapshot' }>;

const snapshotsByState = new WeakMap<RunState, Map<string, LookupSnapshotEvent>>();

/** The run's snapshots by lookup key, in journal order. */
export function lookupSnapshotsOf(state: RunState): ReadonlyMap<string, LookupSnapshotEvent> {
  return snapshotsByState.get(state) ?? new Map();
}

export function applyLookupSnapshot(state: RunState, event: LookupSnapshotEvent): void {
  let snapshots = snapshotsByState.get(state);
  if (!snapshots) {
    snapshots = new Map();
    snapshotsByState.set(state, snapshots);
  }
  const known = snapshots.get(event.lookup);
  if (known) {
    const error = messages.createError('error.LookupSnapshotTwice', [event.lookup, String(known.seq)]);
    error.setData({ seq: event.seq, type: event.type, lookup: event.lookup });
    throw error;
  }
  snapshots.set(event.lookup, event);
}
