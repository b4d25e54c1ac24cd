/*
 * Sorted key streams on disk: verify compares what the run wrote with what the org holds by key
 * (record Id, external id), and a run can write more keys than fit in memory. Entries are
 * buffered up to a byte budget, sorted and spilled to a run file; reading merges the run files
 * (k-way), so memory holds one buffer while writing and one line per run file while reading.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** one entry: a key and a payload that travels with it (no line breaks in either once encoded) */
export type KeyedEntry = { key: string; value: string };

/**
 * default buffer before a spill. A verification holds four spills at once (the run's and the org's
 * Ids and external ids), so this times four is what they may take; 1M keys make about ten run files.
 */
export const DEFAULT_SORT_BUDGET_BYTES = 8 * 1024 * 1024;

/** what V8 spends on a short string and its array slot besides its characters (measured roughly) */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * Keys are escaped so that a line is `key \t value` and no key holds a tab, line break or other
 * control character: comparing the escaped keys orders them exactly as comparing the lines' key
 * parts, on both sides of a comparison.
 */
export function escapeKey(key: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
  return key.replace(/[\u0000-\u001f\\]/g, (c) =>
    c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function unescapeKey(escaped: string): string {
  return escaped.replace(/\\(\\|u([0-9a-f]{4}))/g, (_, whole: string, hex?: string) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : whole,
  );
}

function lineOf(entry: KeyedEntry): string {
  return `${escapeKey(entry.key)}\t${entry.value.replace(/[\r\n]/g, ' ')}`;
}

function entryOf(line: string): KeyedEntry {
  const tab = line.indexOf('\t');
  return { key: unescapeKey(line.slice(0, tab)), value: line.slice(tab + 1) };
}

/** the order of keys in every stream (code units, as the escaped form sorts) */
export function compareKeys(a: string, b: string): number {
  const x = escapeKey(a);
  const y = escapeKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

async function writeLines(file: string, lines: string[]): Promise<void> {
  const out = createWriteStream(file, { mode: 0o600 });
  for (const line of lines) {
    // eslint-disable-next-line no-await-in-loop -- back-pressure
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

async function* readLines(file: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) if (line.length > 0) yield line;
}

/**
 * An external sort of keyed entries. `add` what arrives in any order, then `sorted()` once: the
 * entries in key order (equal keys in no particular order). `dispose` removes the spill files.
 */
export class SortedKeySpill {
  private buffer: string[] = [];
  private bufferBytes = 0;
  private readonly runs: string[] = [];
  private count = 0;

  public constructor(
    private readonly dir: string,
    private readonly budgetBytes = DEFAULT_SORT_BUDGET_BYTES,
  ) {}

  public get size(): number {
    return this.count;
  }

  public async add(entry: KeyedEntry): Promise<void> {
    const line = lineOf(entry);
    this.buffer.push(line);
    this.count++;
    // two bytes a UTF-16 unit plus the string's and the slot's own cost: rough, what matters is a bound
    this.bufferBytes += line.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (this.bufferBytes >= this.budgetBytes) await this.spill();
  }

  public async *sorted(): AsyncGenerator<KeyedEntry> {
    if (this.runs.length === 0) {
      this.buffer.sort(byKeyPart);
      for (const line of this.buffer) yield entryOf(line);
      return;
    }
    if (this.buffer.length > 0) await this.spill();
    yield* mergeRuns(this.runs.map(readLines));
  }

  public async dispose(): Promise<void> {
    this.buffer = [];
    await Promise.all(this.runs.map((file) => rm(file, { force: true })));
  }

  private async spill(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `run-${process.pid}-${this.runs.length}-${Math.random().toString(36).slice(2)}.txt`);
    this.buffer.sort(byKeyPart);
    await writeLines(file, this.buffer);
    this.runs.push(file);
    this.buffer = [];
    this.bufferBytes = 0;
  }
}

function keyPart(line: string): string {
  const tab = line.indexOf('\t');
  return tab < 0 ? line : line.slice(0, tab);
}

function byKeyPart(a: string, b: string): number {
  const x = keyPart(a);
  const y = keyPart(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** k-way merge of sorted line streams; few runs, so a linear pick is as good as a heap */
async function* mergeRuns(sources: Array<AsyncGenerator<string>>): AsyncGenerator<KeyedEntry> {
  const heads: Array<{ line: string; source: AsyncGenerator<string> }> = [];
  for (const source of sources) {
    // eslint-disable-next-line no-await-in-loop
    const first = await source.next();
    if (!first.done) heads.push({ line: first.value, source });
  }
  while (heads.length > 0) {
    let best = 0;
    for (let i = 1; i < heads.length; i++) if (byKeyPart(heads[i].line, heads[best].line) < 0) best = i;
    const head = heads[best];
    yield entryOf(head.line);
    // eslint-disable-next-line no-await-in-loop
    const next = await head.source.next();
    if (next.done) heads.splice(best, 1);
    else head.line = next.value;
  }
}

/** one step of a merge join: a key and every entry of each side that has it */
export type JoinedKey = { key: string; left: string[]; right: string[] };

/**
 * Walks two key-sorted streams side by side and yields each key once with the values each side
 * has for it (one side empty when only the other has the key). Values of one key are collected,
 * so memory holds one key's entries at a time.
 */
export async function* mergeJoin(
  left: AsyncIterable<KeyedEntry>,
  right: AsyncIterable<KeyedEntry>,
): AsyncGenerator<JoinedKey> {
  const l = left[Symbol.asyncIterator]();
  const r = right[Symbol.asyncIterator]();
  let a = await l.next();
  let b = await r.next();
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compareKeys(a.value.key, b.value.key);
    const key = order <= 0 ? (a.value as KeyedEntry).key : (b.value as KeyedEntry).key;
    const joined: JoinedKey = { key, left: [], right: [] };
    while (!a.done && a.value.key === key) {
      joined.left.push(a.value.value);
      // eslint-disable-next-line no-await-in-loop
      a = await l.next();
    }
    while (!b.done && b.value.key === key) {
      joined.right.push(b.value.value);
      // eslint-disable-next-line no-await-in-loop
      b = await r.next();
    }
    yield joined;
  }
}
