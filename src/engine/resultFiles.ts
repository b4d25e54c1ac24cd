/*
 * Reading a step's saved result files after its jobs finished: which failed rows are retried,
 * which are dead letters, and the counts by error code. Everything streams row by row — a step's
 * results can be far larger than memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import type { ColumnDelimiter, LineEnding } from '../manifest/types.js';
import { delimiterCharacter } from '../csv/delimiters.js';

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
  const exists = await stat(file).then(
    () => true,
    () => false
  );
  if (!exists) return;
  const parser = createReadStream(file).pipe(
    parse({ delimiter: delimiterCharacter(delimiter), relaxColumnCount: true, bom: true })
  );
  for await (const row of parser as AsyncIterable<Row>) yield row;
}

/**
 * A CSV written through a temporary file and renamed into place after fsync, so a crash never
 * leaves a half-written file under the final name and a rerun writes it again from scratch.
 */
export class AtomicCsvWriter {
  private readonly tmp: string;
  private readonly stringifier: Stringifier;
  private readonly done: Promise<void>;
  private count = 0;

  public constructor(private readonly file: string, header: string[], delimiter: ColumnDelimiter, lineEnding: LineEnding) {
    this.tmp = `${file}.partial`;
    this.stringifier = stringify({
      delimiter: delimiterCharacter(delimiter),
      // eslint-disable-next-line camelcase -- csv-stringify's option name
      record_delimiter: lineEnding === 'CRLF' ? 'windows' : 'unix',
    });
    const out = createWriteStream(this.tmp, { mode: 0o600 });
    this.done = finished(this.stringifier.pipe(out)).then(() => undefined);
    this.stringifier.write(header);
  }

  public get rows(): number {
    return this.count;
  }

  public static async create(
    file: string,
    header: string[],
    delimiter: ColumnDelimiter,
    lineEnding: LineEnding
  ): Promise<AtomicCsvWriter> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return new AtomicCsvWriter(file, header, delimiter, lineEnding);
  }

  public async write(row: string[]): Promise<void> {
    this.count++;
    if (!this.stringifier.write(row)) {
      await new Promise<void>((resolve) => this.stringifier.once('drain', resolve));
    }
  }

  public async commit(): Promise<void> {
    this.stringifier.end();
    await this.done;
    const handle = await open(this.tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.tmp, this.file);
  }

  public async discard(): Promise<void> {
    this.stringifier.destroy();
    await this.done.catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}
