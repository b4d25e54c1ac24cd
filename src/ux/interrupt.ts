/*
 * Ctrl-C (SIGINT) and SIGTERM during `run`, `resume` or `retry`.
 *
 * The first signal asks the run to stop at its next safe point, through the same AbortSignal that
 * ends a --wait budget; the run then returns unfinished and the command prints the resume command
 * and exits 130 (SIGINT) or 143 (SIGTERM). Per phase of a chunk (docs/architecture.md §4), what "next safe
 * point" means and why:
 * - setting up (fingerprints, run folder, lock, journal replay): finishes, then the run stops before
 *   its first step. Stopping half-way could leave a run folder without `run.started`, which only
 *   `run --new` gets past; finishing leaves a run that `resume` continues.
 * - planning chunks: stops between chunk.planned lines; resume re-cuts the file identically and
 *   adds only the missing chunks.
 * - planned or creating: no new job is created.
 * - created, not uploaded: the job is aborted now (resume would abort it anyway: a job whose
 *   upload the journal cannot vouch for is never closed), so nothing is left Open in the org.
 * - uploading: the upload finishes and the job is closed: the bytes are sent already, and a partial
 *   upload would be thrown away and sent again.
 * - closed (processing in the org): polling stops at once. The job keeps processing in the org;
 *   resume polls it and saves its results. Waiting for it would gain nothing.
 * - finished, saving results: the download finishes (a results file is renamed into place whole).
 * A second signal exits at once, whatever the phase: the journal is written ahead of every side
 * effect and fsynced, and the crash test proves a kill at any line boundary resumes exactly once.
 */
import type { EventEmitter } from 'node:events';
import { Messages } from '@salesforce/core';
import { SignalExitCode, type InterruptSignal } from '../engine/outcome.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'session');

export const INTERRUPT_SIGNALS = Object.keys(SignalExitCode) as InterruptSignal[];

export type InterruptIo = {
  /** tells the user, at once (stderr) */
  notify(text: string): void;
  /** ends the process now */
  exit(code: number): void;
};

export class RunInterrupt {
  private readonly controller = new AbortController();
  private readonly listeners = new Map<InterruptSignal, () => void>();
  private received?: InterruptSignal;
  private resume?: string;

  public constructor(
    private readonly io: InterruptIo,
    private readonly target: EventEmitter = process,
  ) {}

  /** aborted by the first signal */
  public get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** the first signal received, if any */
  public get signalName(): InterruptSignal | undefined {
    return this.received;
  }

  public get exitCode(): (typeof SignalExitCode)[InterruptSignal] | undefined {
    return this.received ? SignalExitCode[this.received] : undefined;
  }

  /** once the run is known, the notices name the command that continues it */
  public set resumeCommand(command: string) {
    this.resume = command;
  }

  public install(): void {
    for (const name of INTERRUPT_SIGNALS) {
      if (this.listeners.has(name)) continue;
      const listener = (): void => this.onSignal(name);
      this.listeners.set(name, listener);
      this.target.on(name, listener);
    }
  }

  public dispose(): void {
    for (const [name, listener] of this.listeners) this.target.removeListener(name, listener);
    this.listeners.clear();
  }

  private onSignal(name: InterruptSignal): void {
    if (!this.received) {
      this.received = name;
      this.io.notify(
        this.resume
          ? messages.getMessage('interrupt.stoppingWithResume', [name, this.resume])
          : messages.getMessage('interrupt.stopping', [name]),
      );
      this.controller.abort(new Error(name));
      return;
    }
    this.io.notify(
      this.resume
        ? messages.getMessage('interrupt.exitingWithResume', [name, this.resume])
        : messages.getMessage('interrupt.exiting', [name]),
    );
    this.io.exit(SignalExitCode[name]);
  }
}
