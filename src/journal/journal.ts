/*
 * The journal file of one run (docs/architecture.md §4): one JSON event a line, appended and made durable before
 * the side effect it announces is allowed to happen. Only the last line can ever be incomplete (a
 * crash in the middle of a write); it is tolerated on read and cut away before appending again.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Messages, SfError } from '@salesforce/core';
import type { JournalEvent, JournalEventBody } from './events.js';
import { EventShapeError, readEventLine, toStoredEvent } from './eventCodec.js';
import { errnoOf, syncDirectory } from './durable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

const NEWLINE = 0x0a;
const BLOCK = 64 * 1024;
/** a torn line is reported, not kept: cap what is carried around */
const TORN_EXCERPT_CHARS = 2000;

/** The part of a file handle the journal writes through; tests substitute one to simulate a full disk. */
export type JournalFileHandle = {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
};

export type JournalOptions = {
  /** opens the journal file for writing; default node:fs/promises `open` */
  openFile?: (file: string, flags: string, mode: number) => Promise<JournalFileHandle>;
};

const defaultOpenFile = (file: string, flags: string, mode: number): Promise<JournalFileHandle> =>
  open(file, flags, mode) as Promise<FileHandle & JournalFileHandle>;

/** The warning to show when `openForAppend` or `readJournal` met a torn last line. */
export function tornLineWarning(file: string, tornLine: string): string {
  const shown = tornLine.length > 200 ? `${tornLine.slice(0, 200)}…` : tornLine;
  return messages.getMessage('warning.TornLine', [file, JSON.stringify(shown)]);
}

/** The run id is the name of the run folder holding the journal; error actions use it. */
const runIdOf = (file: string): string => basename(dirname(file));

function excerpt(line: string): string {
  return line.length > TORN_EXCERPT_CHARS ? `${line.slice(0, TORN_EXCERPT_CHARS)}…` : line;
}

function writeError(file: string, cause: unknown): SfError {
  const code = errnoOf(cause);
  const error =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? messages.createError('error.JournalDiskFull', [file], [runIdOf(file)], cause as Error)
      : messages.createError(
          'error.JournalWriteFailed',
          [file, cause instanceof Error ? cause.message : String(cause)],
          [runIdOf(file)],
          cause instanceof Error ? cause : undefined,
        );
  error.setData({ file, code });
  return error;
}

/**
 * The append side of a run's journal. Every `append` is on disk (fdatasync) before its promise
 * resolves, so the engine may perform the side effect an event announces only after awaiting it.
 */
export class Journal {
  private queue: Promise<unknown> = Promise.resolve();
  private failure?: SfError;
  private closed = false;

  private constructor(
    /** path of journal.jsonl */
    public readonly file: string,
    private readonly handle: JournalFileHandle,
    /** bytes of complete events in the file; the next event is written here */
    private size: number,
    private seq: number,
  ) {}

  /** seq of the last event on disk (0 for an empty journal) */
  public get lastSeq(): number {
    return this.seq;
  }

  /**
   * Creates journal.jsonl, which must not exist yet, owner-only (0o600), and makes its directory
   * entry durable.
   *
   * @throws SfError `JournalExistsError` when the file already exists.
   */
  public static async create(file: string, options: JournalOptions = {}): Promise<Journal> {
    let handle: JournalFileHandle;
    try {
      handle = await (options.openFile ?? defaultOpenFile)(file, 'wx', 0o600);
    } catch (error) {
      if (errnoOf(error) === 'EEXIST') {
        throw messages.createError('error.JournalExists', [file], [runIdOf(file)], error as Error);
      }
      throw error;
    }
    // the directory entry of a new file is durable only once its directory is synced
    await syncDirectory(dirname(file));
    return new Journal(file, handle, 0, 0);
  }

  /**
   * Opens an existing journal to append to it. A torn last line (no trailing newline, or not
   * JSON) is the trace of a write cut short by a crash; the event it held never completed,
   * so it is truncated away (durably) before anything is appended, and returned so the caller can
   * warn (`tornLineWarning`). The rest of the file is not read here: `replayJournal` checks it.
   * Hold the run lock first: repairing the file under a live writer would cut its current line.
   *
   * @throws SfError `JournalCorruptLineError` when more than the last line is damaged.
   */
  public static async openForAppend(
    file: string,
    options: JournalOptions = {},
  ): Promise<{ journal: Journal; tornLine?: string }> {
    const ends = await readJournalEnds(file);
    const handle = await (options.openFile ?? defaultOpenFile)(file, 'r+', 0o600);
    try {
      if (ends.tornLine !== undefined) {
        await handle.truncate(ends.completeBytes);
        await handle.datasync();
      }
    } catch (error) {
      await handle.close();
      throw writeError(file, error);
    }
    const journal = new Journal(file, handle, ends.completeBytes, ends.last?.seq ?? 0);
    return ends.tornLine === undefined ? { journal } : { journal, tornLine: ends.tornLine };
  }

  /**
   * Appends one event, numbered `lastSeq + 1` and stamped with the current ISO time, and resolves
   * once it is durable. Calls made while earlier ones are pending are written in call order. Only
   * the fields the protocol defines are written; free text (reasons, error messages) is masked
   * for anything credential-shaped, and a structural field that looks like a credential is refused.
   *
   * @throws SfError `JournalDiskFullError` / `JournalWriteFailedError` when the write fails; the
   * journal then refuses every later append (`JournalUnusableError`) because the engine must stop:
   * the run is resumable from what is on disk.
   * @throws SfError `JournalInvalidEventError` when the body does not match its event type
   * (a programming error; the journal stays usable).
   */
  public append(body: JournalEventBody): Promise<JournalEvent> {
    if (this.closed) return Promise.reject(messages.createError('error.JournalClosed', [this.file]));
    const written = this.queue.then(() => this.write(body));
    this.queue = written.catch(() => undefined);
    return written;
  }

  /** Refuses new appends, waits for those already made, then closes the file. Safe to call twice. */
  public async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.handle.close();
  }

  private async write(body: JournalEventBody): Promise<JournalEvent> {
    if (this.failure) {
      throw messages.createError(
        'error.JournalUnusable',
        [this.file, this.failure.message],
        [runIdOf(this.file)],
        this.failure,
      );
    }
    let event: JournalEvent;
    try {
      event = toStoredEvent(body, this.seq + 1, new Date().toISOString());
    } catch (error) {
      const problem = error instanceof EventShapeError ? error.message : String(error);
      throw messages.createError('error.JournalInvalidEvent', [String((body as { type?: unknown }).type), problem]);
    }
    const bytes = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
    try {
      let written = 0;
      while (written < bytes.length) {
        // eslint-disable-next-line no-await-in-loop -- a short write continues where it stopped
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this.size + written);
        if (bytesWritten <= 0) throw Object.assign(new Error('no bytes written'), { code: 'EIO' });
        written += bytesWritten;
      }
      await this.handle.datasync();
    } catch (error) {
      this.failure = writeError(this.file, error);
      // best effort: leave no partial line behind; if this fails too, openForAppend repairs it
      await this.handle.truncate(this.size).catch(() => undefined);
      throw this.failure;
    }
    this.size += bytes.length;
    this.seq = event.seq;
    return event;
  }
}

function corruptLine(file: string, line: number, problem: string): SfError {
  const error = messages.createError('error.JournalCorruptLine', [file, line, problem], [runIdOf(file)]);
  error.setData({ file, line, problem });
  return error;
}

/**
 * Streams the events of a journal in order, in constant memory. The last line is skipped, and
 * passed to `onTorn`, when it has no trailing newline or is not JSON: a crash cut its write short
 * (or a writer is appending it right now). A line that is not JSON followed by others, JSON that
 * is not an event of the protocol (anywhere: no crash writes that), or a break in the seq
 * numbering is an SfError naming the file and line.
 */
export async function* readJournal(
  file: string,
  options: { onTorn?: (line: string) => void } = {},
): AsyncGenerator<JournalEvent> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNumber = 0;
  let previousSeq = 0;
  /** an invalid line is only an error if another line follows it */
  let suspect: { line: string; lineNumber: number; problem: string } | undefined;

  for await (const chunk of createReadStream(file, { highWaterMark: BLOCK })) {
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    let end = text.indexOf('\n', start);
    while (end !== -1) {
      const line = text.slice(start, end);
      lineNumber++;
      if (suspect) throw corruptLine(file, suspect.lineNumber, suspect.problem);
      const reading = readEventLine(line);
      if ('invalid' in reading) throw corruptLine(file, lineNumber, reading.invalid);
      if ('torn' in reading) suspect = { line, lineNumber, problem: reading.torn };
      else {
        const event = reading.event;
        if (event.seq !== previousSeq + 1) {
          const error = messages.createError('error.JournalSeqGap', [file, lineNumber, event.seq, previousSeq]);
          error.setData({ file, line: lineNumber, seq: event.seq, previousSeq });
          throw error;
        }
        previousSeq = event.seq;
        yield event;
      }
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (suspect && rest.length > 0) throw corruptLine(file, suspect.lineNumber, suspect.problem);
  const torn = suspect?.line ?? (rest.length > 0 ? rest : undefined);
  if (torn !== undefined) options.onTorn?.(excerpt(torn));
}

/** What the first and last lines of a journal say, found without reading the whole file. */
export type JournalEnds = {
  /** the first event, when there is one */
  first?: JournalEvent;
  /** the last complete, valid event */
  last?: JournalEvent;
  /** excerpt of a torn last line, when there is one */
  tornLine?: string;
  /** length in bytes of the file without its torn line */
  completeBytes: number;
  size: number;
};

async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(end - start);
  let filled = 0;
  while (filled < buffer.length) {
    // eslint-disable-next-line no-await-in-loop -- a short read continues where it stopped
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** position of the last newline before `before`, or -1; reads backwards a block at a time */
async function lastNewlineBefore(handle: FileHandle, before: number): Promise<number> {
  let end = before;
  while (end > 0) {
    const start = Math.max(0, end - BLOCK);
    // eslint-disable-next-line no-await-in-loop -- each block depends on the one after it
    const block = await readRange(handle, start, end);
    const at = block.lastIndexOf(NEWLINE);
    if (at !== -1) return start + at;
    end = start;
  }
  return -1;
}

/** position of the first newline at or after `from`, or -1 */
async function firstNewlineFrom(handle: FileHandle, from: number, size: number): Promise<number> {
  let start = from;
  while (start < size) {
    // eslint-disable-next-line no-await-in-loop -- each block depends on the one before it
    const block = await readRange(handle, start, Math.min(size, start + BLOCK));
    const at = block.indexOf(NEWLINE);
    if (at !== -1) return start + at;
    start += block.length;
    if (block.length === 0) break;
  }
  return -1;
}

/** The full scan names the damaged line by number; only used once the tail is known to be bad. */
async function throwCorruption(file: string): Promise<never> {
  const events = readJournal(file);
  // reading to the end is the check; it throws with the line number
  // eslint-disable-next-line no-await-in-loop
  while (!(await events.next()).done);
  throw corruptLine(file, 0, 'unreadable near the end of the file');
}

/**
 * Reads the first and last events of a journal by seeking: the cost does not grow with the number
 * of events. The last line follows the same torn-line rule as `readJournal`.
 */
export async function readJournalEnds(file: string): Promise<JournalEnds> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return { completeBytes: 0, size };

    const lastByte = (await readRange(handle, size - 1, size))[0];
    let tornLine: string | undefined;
    let completeBytes = size;
    if (lastByte !== NEWLINE) {
      const at = await lastNewlineBefore(handle, size);
      completeBytes = at + 1;
      tornLine = (await readRange(handle, completeBytes, size)).toString('utf8');
    }

    let last: JournalEvent | undefined;
    /* eslint-disable no-await-in-loop -- walks back at most two lines */
    while (completeBytes > 0 && last === undefined) {
      const lineStart = (await lastNewlineBefore(handle, completeBytes - 1)) + 1;
      const line = (await readRange(handle, lineStart, completeBytes - 1)).toString('utf8');
      const reading = readEventLine(line);
      if ('event' in reading) {
        last = reading.event;
      } else if ('torn' in reading && tornLine === undefined) {
        tornLine = line;
        completeBytes = lineStart;
      } else {
        return await throwCorruption(file);
      }
    }
    /* eslint-enable no-await-in-loop */

    let first: JournalEvent | undefined;
    if (completeBytes > 0) {
      const firstEnd = await firstNewlineFrom(handle, 0, completeBytes);
      const line = (await readRange(handle, 0, firstEnd)).toString('utf8');
      const reading = readEventLine(line);
      if (!('event' in reading)) return await throwCorruption(file);
      first = reading.event;
    }
    return {
      ...(first ? { first } : {}),
      ...(last ? { last } : {}),
      ...(tornLine !== undefined ? { tornLine: excerpt(tornLine) } : {}),
      completeBytes,
      size,
    };
  } finally {
    await handle.close();
  }
}
