/*
 * A set of keys, each with a code, too large for memory: written to disk sorted, with every 64th
 * key and its byte offset kept in memory, so a lookup reads one block of at most 64 lines. The
 * keys are sorted in runs that fit `memoryBytes`, then merged. Keys are stored as the hex of their
 * UTF-8 bytes, so any key (tabs, line breaks) fits one line and compares the same everywhere.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';

const EVERY = 64;

async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(file, { mode: 0o600 });
  for (const line of lines) {
    // eslint-disable-next-line no-await-in-loop -- back-pressure
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

async function* linesOf(file: string): AsyncGenerator<string> {
  const input = createReadStream(file);
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) yield line;
  } finally {
    input.destroy();
  }
}

const keyOf = (line: string): string => line.slice(0, line.indexOf('\t'));

export class SortedKeys {
  private constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly index: Array<{ key: string; offset: number }>,
  ) {}

  /** sorts `entries` ([key, code]; the first code of a key wins) into `dir`, which it empties first */
  public static async build(
    entries: AsyncIterable<[string, string]>,
    dir: string,
    memoryBytes: number,
  ): Promise<SortedKeys> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const runs: string[] = [];
    let lines: string[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (lines.length === 0) return;
      // a stable sort keeps a key's first code first
      lines.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
      const run = join(dir, `run-${runs.length}.txt`);
      await writeLines(run, lines);
      runs.push(run);
      lines = [];
      bytes = 0;
    };
    for await (const [key, code] of entries) {
      const line = `${Buffer.from(key).toString('hex')}\t${code}`;
      lines.push(line);
      bytes += 2 * line.length + 64;
      if (bytes > memoryBytes / 2) await flush();
    }
    await flush();
    const merged = join(dir, 'keys.txt');
    const index = await merge(runs, merged);
    const handle = await open(merged, 'r');
    return new SortedKeys(handle, (await handle.stat()).size, index);
  }

  /** the code of `key`, or undefined */
  public async codeOf(key: string): Promise<string | undefined> {
    const hex = Buffer.from(key).toString('hex');
    let low = 0;
    let high = this.index.length - 1;
    let at = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.index[mid].key <= hex) {
        at = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    if (at < 0) return undefined;
    const start = this.index[at].offset;
    const end = at + 1 < this.index.length ? this.index[at + 1].offset : this.size;
    const block = Buffer.alloc(end - start);
    await this.handle.read(block, 0, block.length, start);
    for (const line of block.toString('utf8').split('\n')) {
      if (keyOf(line) === hex) return line.slice(line.indexOf('\t') + 1);
    }
    return undefined;
  }

  public close(): Promise<void> {
    return this.handle.close();
  }
}

/** merges sorted runs into `file`, each key once (its first code), and indexes every EVERY-th line */
async function merge(runs: string[], file: string): Promise<Array<{ key: string; offset: number }>> {
  const readers = runs.map((run) => linesOf(run));
  const heads = await Promise.all(readers.map(async (reader) => (await reader.next()).value as string | undefined));
  const index: Array<{ key: string; offset: number }> = [];
  const out = createWriteStream(file, { mode: 0o600 });
  let offset = 0;
  let written = 0;
  let last: string | undefined;
  for (;;) {
    let min = -1;
    for (const [k, head] of heads.entries()) {
      if (head !== undefined && (min < 0 || keyOf(head) < keyOf(heads[min]!))) min = k;
    }
    if (min < 0) break;
    const line = heads[min]!;
    // eslint-disable-next-line no-await-in-loop -- the next line of the run just used
    heads[min] = (await readers[min].next()).value as string | undefined;
    const key = keyOf(line);
    if (key === last) continue;
    last = key;
    if (written % EVERY === 0) index.push({ key, offset });
    written++;
    offset += Buffer.byteLength(line) + 1;
    // eslint-disable-next-line no-await-in-loop -- back-pressure
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
  return index;
}
