/*
 * The CSV files of a run folder: saved result files read back row by row, their sf__Error split
 * into code and message, and retry files and dead letters written atomically. Everything streams
 * row by row — a step's results can be far larger than memory.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse } from 'csv-parse';
import { stringify as stringifySync, type Options as StringifyOptions } from 'csv-stringify/sync';
import type { ColumnDelimiter, LineEnding } from '../manifest/types.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { parsedRows } from '../csv/parsedRows.js';
import {
  commitTemporary,
  discardTemporary,
  exists,
  temporaryPathFor,
  writeFileAtomically,
} from '../journal/durable.js';

/** `REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --` → `REQUIRED_FIELD_MISSING` */
export function errorCodeOf(sfError: string): string {
  const colon = sfError.indexOf(':');
  const code = (colon < 0 ? sfError : sfError.slice(0, colon)).trim();
  return /^[A-Z_]+$/.test(code) ? code : 'UNKNOWN_ERROR';
}

/** `CODE:message:fields --` → `message:fields` (trailing ` --` and `:--` markers removed) */
export function errorMessageOf(sfError: string): string {
  const colon = sfError.indexOf(':');
  const rest = colon < 0 ? sfError : sfError.slice(colon + 1);
  return rest.replace(/:?\s*--\s*$/, '').trim();
}

type Row = string[];

/** streams the records of a result CSV: its header first, then each row */
export async function* readResultRows(file: string, delimiter: ColumnDelimiter): AsyncGenerator<Row> {
  if (!(await exists(file))) return;
  const parser = createReadStream(file).pipe(
    parse({ delimiter: delimiterCharacter(delimiter), relaxColumnCount: true, bom: true }),
  );
  // not `for await` over the parser: Node's Readable iterator made the heap grow (parsedRows.ts)
  yield* parsedRows<Row>(parser);
}

/** the first line of a result file is read in pieces this large, up to MAX_RESULT_HEADER_BYTES */
const HEADER_READ_BYTES = 64 * 1024;
/** a header is at most 32,000 characters (salesforce-api.md §4), up to 4 bytes each in UTF-8, plus the sf__ columns */
const MAX_RESULT_HEADER_BYTES = 32_000 * 4 + 1024;

/** the header lines of a job's failed and unprocessed result files, as the org writes them */
export type EmptyResultHeaders = { failed: string; unprocessed: string };

/**
 * The header lines a job's failed and unprocessed result files have, derived from the header of its
 * saved successful results: the org writes `"sf__Id","sf__Created",<uploaded header verbatim>`,
 * `"sf__Id","sf__Error",<uploaded header>` and `<uploaded header>` (salesforce-api.md §1 "Results"),
 * each with the job's delimiter and line ending. Undefined when the file does not start that way
 * (no header, an unknown prefix, nothing uploaded after it): the caller then downloads the files.
 */
export async function emptyResultHeaders(successFile: string): Promise<EmptyResultHeaders | undefined> {
  const line = await firstLine(successFile);
  if (line === undefined) return undefined;
  const text = line.text.startsWith('\uFEFF') ? line.text.slice(1) : line.text;
  const prefix = /^(?:"sf__Id"|sf__Id)([,;|\t^`])(?:"sf__Created"|sf__Created)\1/.exec(text);
  const uploaded = prefix ? text.slice(prefix[0].length) : '';
  if (!prefix || uploaded.length === 0) return undefined;
  const delimiter = prefix[1];
  return {
    failed: `"sf__Id"${delimiter}"sf__Error"${delimiter}${uploaded}${line.terminator}`,
    unprocessed: `${uploaded}${line.terminator}`,
  };
}

/** writes a result file that holds its header line and no record (atomically, 0o600) */
export async function writeHeaderOnlyResult(file: string, header: string): Promise<void> {
  await writeFileAtomically(file, header);
}

/**
 * The first line of a file and its line ending ('' at the end of the file), read in bounded pieces.
 * A header never holds a line break inside quotes (field names), so the first LF ends it.
 */
async function firstLine(file: string): Promise<{ text: string; terminator: string } | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const pieces: Buffer[] = [];
    let total = 0;
    for (;;) {
      const piece = Buffer.alloc(HEADER_READ_BYTES);
      // eslint-disable-next-line no-await-in-loop -- one piece after the other, until the line ends
      const { bytesRead } = await handle.read(piece, 0, piece.length, total);
      const read = piece.subarray(0, bytesRead);
      const lf = read.indexOf(0x0a);
      if (lf >= 0) {
        pieces.push(read.subarray(0, lf));
        const bytes = Buffer.concat(pieces);
        const cr = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d;
        return { text: bytes.subarray(0, cr ? -1 : undefined).toString('utf8'), terminator: cr ? '\r\n' : '\n' };
      }
      pieces.push(read);
      total += bytesRead;
      if (bytesRead === 0) {
        return total === 0 ? undefined : { text: Buffer.concat(pieces).toString('utf8'), terminator: '' };
      }
      if (total > MAX_RESULT_HEADER_BYTES) return undefined;
    }
  } finally {
    await handle.close();
  }
}

/** rows are serialised and written in pieces of about this many characters */
const WRITE_PIECE_CHARS = 64 * 1024;

/**
 * A CSV written through a temporary file and committed (fsync, rename, folder fsync) at the end,
 * so a crash never leaves a half-written file under the final name and a rerun writes it again.
 *
 * Each row is serialised as it comes (csv-stringify's synchronous API, with the options its stream
 * took before) onto a piece of text that is appended to the file with one awaited write once it
 * holds WRITE_PIECE_CHARS. Not a csv-stringify stream piped into a file stream: rows and strings
 * waiting in those streams' buffers while the disk caught up were promoted by V8, and a long pass
 * (the row pass, a big step's dead letters) grew the heap to about three times what the CLI holds
 * before a full collection. Holding a piece's rows as arrays until it is written did the same. 1M
 * parsed rows written beside 35 MB held: peak RSS 250 MB through the streams, 265 MB with rows held
 * in pieces, 143 MB with rows made text at once (bench/prepare-memory.ts has the row pass's figures).
 * Memory is one piece, whatever the file's length; the bytes written are the same.
 */
export class AtomicCsvWriter {
  private readonly tmp: string;
  private readonly options: StringifyOptions;
  private readonly handle: Promise<FileHandle>;
  /** rows serialised, not yet written */
  private pending = '';
  /** the first write error: every later write and the commit fail with it */
  private failure: unknown;

  public constructor(
    private readonly file: string,
    header: string[],
    delimiter: ColumnDelimiter,
    lineEnding: LineEnding,
  ) {
    this.tmp = temporaryPathFor(file);
    this.options = {
      delimiter: delimiterCharacter(delimiter),
      // eslint-disable-next-line camelcase -- csv-stringify's option name
      record_delimiter: lineEnding === 'CRLF' ? 'windows' : 'unix',
    };
    this.handle = open(this.tmp, 'w', 0o600);
    // an error opening the file (permissions, a missing folder) surfaces through write() and
    // commit(), never as an unhandled rejection
    this.handle.catch(() => undefined);
    this.add(header);
  }

  public static async create(
    file: string,
    header: string[],
    delimiter: ColumnDelimiter,
    lineEnding: LineEnding,
  ): Promise<AtomicCsvWriter> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return new AtomicCsvWriter(file, header, delimiter, lineEnding);
  }

  public async write(row: string[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.add(row);
    if (this.pending.length >= WRITE_PIECE_CHARS) await this.flush();
  }

  public async commit(): Promise<void> {
    await this.flush();
    await (await this.handle).close();
    await commitTemporary(this.tmp, this.file);
  }

  public async discard(): Promise<void> {
    this.pending = '';
    // closed already after a commit that failed at its rename, or never opened
    await this.handle.then((handle) => handle.close()).catch(() => undefined);
    await discardTemporary(this.tmp);
  }

  private add(row: string[]): void {
    this.pending += stringifySync([row], this.options);
  }

  private async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    try {
      await (await this.handle).appendFile(text);
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }
}

/**
 * One AtomicCsvWriter per distinct header — a step's files may differ in columns — named by
 * `pathFor(n)` (n from 1) in order of first use, committed or discarded together.
 */
export class CsvWriterSet {
  private readonly writers = new Map<string, { writer: AtomicCsvWriter; file: string }>();

  public constructor(
    private readonly pathFor: (n: number) => string,
    private readonly extraColumns: string[],
    private readonly delimiter: ColumnDelimiter,
  ) {}

  public async write(header: string[], row: string[]): Promise<void> {
    const key = JSON.stringify(header);
    let entry = this.writers.get(key);
    if (!entry) {
      const file = this.pathFor(this.writers.size + 1);
      entry = {
        file,
        writer: await AtomicCsvWriter.create(file, [...header, ...this.extraColumns], this.delimiter, 'LF'),
      };
      this.writers.set(key, entry);
    }
    await entry.writer.write(row);
  }

  /** the files written, in order; nothing is under a final name before this resolves */
  public async commit(): Promise<string[]> {
    for (const { writer } of this.writers.values()) {
      // eslint-disable-next-line no-await-in-loop
      await writer.commit();
    }
    return [...this.writers.values()].map(({ file }) => file);
  }

  public async discard(): Promise<void> {
    await Promise.all([...this.writers.values()].map(({ writer }) => writer.discard()));
  }
}
