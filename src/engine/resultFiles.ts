/*
 * The CSV files of a run folder: saved result files read back row by row, their sf__Error split
 * into code and message, and retry files and dead letters written atomically. Everything streams
 * row by row — a step's results can be far larger than memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import type { ColumnDelimiter, LineEnding } from '../manifest/types.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { commitTemporary, discardTemporary, exists, temporaryPathFor } from '../journal/durable.js';

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
  for await (const row of parser as AsyncIterable<Row>) yield row;
}

/**
 * A CSV written through a temporary file and committed (fsync, rename, folder fsync) at the end,
 * so a crash never leaves a half-written file under the final name and a rerun writes it again.
 */
export class AtomicCsvWriter {
  private readonly tmp: string;
  private readonly stringifier: Stringifier;
  private readonly done: Promise<void>;

  public constructor(
    private readonly file: string,
    header: string[],
    delimiter: ColumnDelimiter,
    lineEnding: LineEnding,
  ) {
    this.tmp = temporaryPathFor(file);
    this.stringifier = stringify({
      delimiter: delimiterCharacter(delimiter),
      // eslint-disable-next-line camelcase -- csv-stringify's option name
      record_delimiter: lineEnding === 'CRLF' ? 'windows' : 'unix',
    });
    const out = createWriteStream(this.tmp, { mode: 0o600 });
    this.done = finished(this.stringifier.pipe(out)).then(() => undefined);
    // a write error (full disk, permissions) surfaces through write() and commit(), never as an
    // unhandled rejection
    this.done.catch(() => undefined);
    out.on('error', (error) => this.stringifier.destroy(error));
    this.stringifier.write(header);
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
    if (!this.stringifier.write(row)) {
      // the file's failure ends the wait too, or a full disk would hang the run here
      await Promise.race([once(this.stringifier, 'drain'), this.done]);
    }
    if (this.stringifier.destroyed) await this.done;
  }

  public async commit(): Promise<void> {
    this.stringifier.end();
    await this.done;
    await commitTemporary(this.tmp, this.file);
  }

  public async discard(): Promise<void> {
    this.stringifier.destroy();
    await this.done.catch(() => undefined);
    await discardTemporary(this.tmp);
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
