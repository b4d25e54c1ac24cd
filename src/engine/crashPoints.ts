/*
 * Deliberate crashes for the crash-and-resume test (test/helpers/crashScenarios.ts): with
 * SF_MIGRATE_TEST_CRASH=<point>:<n> the process SIGKILLs itself the n-th time it reaches <point>.
 * A point is a journal event type (the crash comes right after the line is durable, before the
 * side effect that follows it) or one of the in-between points below. SIGKILL, not an exception:
 * no finally block, no flush, exactly what a power cut or `kill -9` leaves behind. Unset, this is
 * one string comparison per journal line.
 *
 * Test-only too: SF_MIGRATE_TEST_APPEND=<point>:<n>:<file> appends one line (APPENDED) to <file> the n-th
 * time the process reaches <point> (before a crash at the same point), so the crash test can change
 * a source while the run is in flight, at an exact point of the protocol, which no timer can do.
 */
import { appendFileSync } from 'node:fs';

/**
 * A journal event type, or one of: 'upload.middle' (part of an upload body has been sent), 'poll'
 * (a status poll returned), 'results.middle' (one of a job's three result files is saved),
 * 'run.folder' (a new run's folder, owner file and manifest copy exist, its journal does not yet),
 * 'reconcile' (resume's reconciliation journaled one line of a job the journal had lost),
 * 'upload.refused' (an upload body stopped because its source no longer reads as fingerprinted;
 * its job is not aborted yet), 'partition.written' (a source's derived files are durable, their
 * `source.partitioned` line is not written yet), 'lookup.written' (a lookup's snapshot file is durable,
 * its `lookup.snapshot` line is not written yet: src/lookup/snapshots.ts), 'prepare.written' (a source's prepared and
 * rejected-rows files are durable, their `source.prepared` line is not written yet),
 * 'results.synthesised' (a job's failed or unprocessed result file, proven empty by its counts, was
 * written locally; `results.saved` is not journaled yet), 'before.piece' (one query of a chunk's before image is saved,
 * the image is not joined yet), 'before.written' (the before image is durable, its `before.saved` line
 * is not written yet).
 */
export type CrashPoint = string;

/** `<point>:<n>[:<argument>]`: whether a point reached is the n-th time of <point>, and the argument */
function triggerOf(setting: string | undefined): { argument: string; reached(point: CrashPoint): boolean } | undefined {
  if (!setting) return undefined;
  const [target, nth, ...rest] = setting.split(':');
  let seen = 0;
  return {
    argument: rest.join(':'),
    reached: (point): boolean => point === target && ++seen === Number(nth ?? '1'),
  };
}

const crash = triggerOf(process.env.SF_MIGRATE_TEST_CRASH);
const append = triggerOf(process.env.SF_MIGRATE_TEST_APPEND);

/** the line SF_MIGRATE_TEST_APPEND appends */
export const APPENDED = 'Appended during the run';

export function crashPoint(point: CrashPoint): void {
  if (append?.reached(point)) appendFileSync(append.argument, `${APPENDED}\n`);
  if (crash?.reached(point)) process.kill(process.pid, 'SIGKILL');
}

export const crashTestEnabled = crash !== undefined;
