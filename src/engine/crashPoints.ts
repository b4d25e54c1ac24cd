/*
 * Deliberate crashes for the crash-and-resume test (test/helpers/crashScenarios.ts): with
 * SF_MIGRATE_TEST_CRASH=<point>:<n> the process SIGKILLs itself the n-th time it reaches <point>.
 * A point is a journal event type (the crash comes right after the line is durable, before the
 * side effect that follows it) or one of the in-between points below. SIGKILL, not an exception:
 * no finally block, no flush, exactly what a power cut or `kill -9` leaves behind. Unset, this is
 * one string comparison per journal line.
 */
/**
 * A journal event type, or one of: 'upload.middle' (part of an upload body has been sent), 'poll'
 * (a status poll returned), 'results.middle' (one of a job's three result files is saved),
 * 'run.folder' (a new run's folder, owner file and manifest copy exist, its journal does not yet),
 * 'reconcile' (resume's reconciliation journaled one line of a job the journal had lost).
 */
export type CrashPoint = string;

const setting = process.env.SF_MIGRATE_TEST_CRASH;
const [target, nth] = setting ? [setting.split(':')[0], Number(setting.split(':')[1] ?? '1')] : [undefined, 0];
let seen = 0;

export function crashPoint(point: CrashPoint): void {
  if (target === undefined || point !== target) return;
  seen++;
  if (seen === nth) process.kill(process.pid, 'SIGKILL');
}

export const crashTestEnabled = target !== undefined;
