/*
 * The one way to open a run for writing, shared by `run` (new or continued), `resume`, `retry` and
 * the `job` commands: take the run's lock (warning when a stale one was taken over), then — and
 * only then, or another process could move the run past what was read — replay the journal and
 * open it for appending (warning when a torn last line was cut away). Whatever the caller then
 * journals goes through `record`, which applies each event to the same state replay built.
 */
import { Messages } from '@salesforce/core';
import type { JournalEventBody } from './events.js';
import { Journal, tornLineWarning } from './journal.js';
import { acquireRunLock, takeoverWarning, type RunLock } from './lock.js';
import type { RunFolder } from './runFolder.js';
import { applyEvent, emptyRunState, replayJournal, type RunState } from './state.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

/** a run opened for writing: its lock held, its journal replayed and open for appending */
export type WritableRun = {
  folder: RunFolder;
  lock: RunLock;
  journal: Journal;
  state: RunState;
  /** appends an event durably, then applies it to `state` */
  record: (body: JournalEventBody) => Promise<void>;
  /** closes the journal, then releases the lock; safe to call twice */
  release: () => Promise<void>;
};

export type OpenForWritingOptions = {
  onWarning?: (message: string) => void;
  /** a new run: create journal.jsonl (which must not exist) instead of replaying it */
  create?: boolean;
};

/**
 * Opens `folder` for writing. On failure nothing is left held.
 *
 * @throws SfError `RunLockedError` while another live process drives the run, the journal's
 * errors (`JournalCorruptLineError`, `JournalSeqGapError`, `JournalReplayFailedError`,
 * `JournalExistsError` with `create`), and `JournalMovedOnError` when the journal grew between
 * replay and opening (only a writer ignoring the lock can do that).
 */
export async function openRunForWriting(folder: RunFolder, options: OpenForWritingOptions = {}): Promise<WritableRun> {
  const warn = options.onWarning ?? ((): void => {});
  const lock = await acquireRunLock(folder);
  let journal: Journal | undefined;
  try {
    if (lock.tookOver) warn(takeoverWarning(folder, lock.tookOver));
    let state: RunState;
    if (options.create) {
      state = emptyRunState();
      journal = await Journal.create(folder.journalPath);
    } else {
      state = await replayJournal(folder.journalPath);
      const opened = await Journal.openForAppend(folder.journalPath);
      journal = opened.journal;
      if (opened.tornLine !== undefined) warn(tornLineWarning(folder.journalPath, opened.tornLine));
      if (journal.lastSeq !== state.lastSeq) {
        throw messages.createError('error.JournalMovedOn', [folder.journalPath], [folder.runId]);
      }
    }
    const opened = journal;
    let released = false;
    return {
      folder,
      lock,
      journal: opened,
      state,
      record: async (body): Promise<void> => applyEvent(state, await opened.append(body)),
      release: async (): Promise<void> => {
        if (released) return;
        released = true;
        try {
          await opened.close();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (error) {
    await journal?.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
}
