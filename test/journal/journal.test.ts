import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import {
  Journal,
  readJournal,
  readJournalEnds,
  tornLineWarning,
  type JournalFileHandle,
  type JournalOptions,
} from '../../src/journal/journal.js';
import type { JournalEvent, JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import { toStoredEvent } from '../../src/journal/eventCodec.js';
import { chunkLifecycle, finishedRun, jobIdFor, runStarted, scratch, writeJournalLines } from './journalFixtures.js';

async function readAll(file: string, onTorn?: (line: string) => void): Promise<JournalEvent[]> {
  const events: JournalEvent[] = [];
  for await (const event of readJournal(file, { onTorn })) events.push(event);
  return events;
}

async function expectRejection(promise: Promise<unknown>): Promise<SfError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(SfError);
    return error as SfError;
  }
  expect.fail('expected a rejection');
}

async function writeJournal(file: string, bodies: JournalEventBody[]): Promise<void> {
  const journal = await Journal.create(file);
  for (const body of bodies) {
    // eslint-disable-next-line no-await-in-loop
    await journal.append(body);
  }
  await journal.close();
}

/** Opens real files but logs (and lets a test break) what the journal does with them. */
function recordingOpener(
  log: string[],
  behaviour: { failWrite?: (call: number) => Error | undefined; shortWrites?: boolean } = {},
): JournalOptions {
  return {
    openFile: async (file, flags, mode): Promise<JournalFileHandle> => {
      const real = await open(file, flags, mode);
      let writes = 0;
      const handle: JournalFileHandle = {
        async write(buffer, offset, length, position) {
          writes++;
          const failure = behaviour.failWrite?.(writes);
          if (failure) {
            // a full disk often takes part of the line before refusing the rest
            await real.write(buffer, offset, Math.floor(length / 2), position);
            log.push(`write-failed ${writes}`);
            throw failure;
          }
          const take = behaviour.shortWrites ? Math.max(1, Math.floor(length / 3)) : length;
          const result = await real.write(buffer, offset, take, position);
          log.push(`write ${result.bytesWritten}`);
          return result;
        },
        async datasync() {
          await real.datasync();
          log.push('datasync');
        },
        async truncate(length) {
          await real.truncate(length);
          log.push(`truncate ${length}`);
        },
        close: () => real.close(),
      };
      return handle;
    },
  };
}

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('Journal', () => {
  const tmp = scratch();
  after(() => tmp.remove());
  let n = 0;
  /** a journal path in a run folder of its own, as in a real run (error actions name the folder) */
  async function freshFile(): Promise<string> {
    n++;
    await mkdir(tmp.path(`run-${n}`));
    return tmp.path(`run-${n}`, 'journal.jsonl');
  }

  async function journalIn(): Promise<{ file: string; journal: Journal }> {
    const file = await freshFile();
    return { file, journal: await Journal.create(file) };
  }

  it('creates an owner-only file and refuses to create it twice', async () => {
    const { file, journal } = await journalIn();
    await journal.close();
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const error = await expectRejection(Journal.create(file));
    expect(error.name).to.equal('JournalExistsError');
    expect(error.actions?.join(' ')).to.include(`sf migrate resume --run-id run-${n}`);
  });

  it('numbers events from 1, stamps them, and writes one JSON line each', async () => {
    const { file, journal } = await journalIn();
    expect(journal.lastSeq).to.equal(0);
    const first = await journal.append(runStarted());
    const second = await journal.append(build.waveStarted(0, ['Account']));
    expect([first.seq, second.seq, journal.lastSeq]).to.deep.equal([1, 2, 2]);
    expect(new Date(first.time).toISOString()).to.equal(first.time);
    await journal.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).to.have.length(3);
    expect(lines[2]).to.equal('');
    expect(JSON.parse(lines[1])).to.deep.equal(second);
    expect(await readAll(file)).to.deep.equal([first, second]);
  });

  it('writes concurrent appends in call order', async () => {
    const { file, journal } = await journalIn();
    await journal.append(runStarted());
    await journal.append(build.waveStarted(0, ['Account']));
    await journal.append(build.stepStarted('Account', 0, { object: 'Account', operation: 'insert' }));
    const pending = [];
    for (let chunk = 0; chunk < 40; chunk++) {
      pending.push(journal.append(chunkLifecycle('Account', chunk)[0]));
    }
    const written = await Promise.all(pending);
    expect(written.map((e) => e.seq)).to.deep.equal(written.map((_, i) => i + 4));
    expect(written.map((e) => (e as { chunk: number }).chunk)).to.deep.equal(written.map((_, i) => i));
    await journal.close();
    const onDisk = await readAll(file);
    expect(onDisk.slice(3)).to.deep.equal(written);
  });

  it('syncs each event before resolving and before writing the next', async () => {
    const log: string[] = [];
    const file = await freshFile();
    const journal = await Journal.create(file, recordingOpener(log));
    const resolvedAfter: number[] = [];
    const a = journal.append(runStarted()).then(() => resolvedAfter.push(log.length));
    const b = journal.append(build.waveStarted(0, ['A'])).then(() => resolvedAfter.push(log.length));
    await Promise.all([a, b]);
    await journal.close();
    expect(log.map((entry) => entry.split(' ')[0])).to.deep.equal(['write', 'datasync', 'write', 'datasync']);
    // each promise resolved only once its datasync was logged
    expect(resolvedAfter).to.deep.equal([2, 4]);
  });

  it('completes short writes', async () => {
    const log: string[] = [];
    const file = await freshFile();
    const journal = await Journal.create(file, recordingOpener(log, { shortWrites: true }));
    const event = await journal.append(runStarted());
    await journal.close();
    expect(log.filter((entry) => entry.startsWith('write')).length).to.be.greaterThan(1);
    expect(await readAll(file)).to.deep.equal([event]);
  });

  it('on a full disk rejects with a resumable DiskFull error, repairs the file and refuses further appends', async () => {
    const log: string[] = [];
    const file = await freshFile();
    const journal = await Journal.create(
      file,
      recordingOpener(log, { failWrite: (call) => (call === 2 ? enospc() : undefined) }),
    );
    const first = await journal.append(runStarted());
    const sizeAfterFirst = statSync(file).size;
    const error = await expectRejection(journal.append(build.waveStarted(0, ['A'])));
    expect(error.name).to.equal('JournalDiskFullError');
    expect(error.message).to.match(/disk .* is full/);
    expect(error.message).to.include('can be resumed');
    expect(error.actions?.join(' ')).to.include(`sf migrate resume --run-id run-${n}`);
    expect(error.data).to.deep.include({ code: 'ENOSPC', file });
    expect(log).to.include(`truncate ${sizeAfterFirst}`);
    expect(journal.lastSeq).to.equal(1);

    const later = await expectRejection(journal.append(build.waveStarted(0, ['A'])));
    expect(later.name).to.equal('JournalUnusableError');
    await journal.close();
    expect(await readAll(file)).to.deep.equal([first]);
  });

  it('reports other write failures with their cause', async () => {
    const file = await freshFile();
    const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    const journal = await Journal.create(file, recordingOpener([], { failWrite: () => eio }));
    const error = await expectRejection(journal.append(runStarted()));
    expect(error.name).to.equal('JournalWriteFailedError');
    expect(error.message).to.include('EIO');
    await journal.close();
  });

  it('writes only the fields of the protocol', async () => {
    const { file, journal } = await journalIn();
    const body = {
      ...chunkLifecycle('Account', 0)[7],
      accessToken: 'should-never-be-written',
      connection: { refreshToken: 'nor-this' },
    } as unknown as JournalEventBody;
    await journal.append(body);
    await journal.close();
    const text = readFileSync(file, 'utf8');
    expect(text).not.to.include('should-never-be-written');
    expect(text).not.to.include('nor-this');
    expect(Object.keys(JSON.parse(text) as object)).to.deep.equal([
      'seq',
      'time',
      'type',
      'step',
      'chunk',
      'jobId',
      'files',
      'counts',
    ]);
  });

  it('refuses an event that does not match its type, and stays usable', async () => {
    const { file, journal } = await journalIn();
    const missingJob = { type: 'job.created', step: 'Account', chunk: 0 } as unknown as JournalEventBody;
    const error = await expectRejection(journal.append(missingJob));
    expect(error.name).to.equal('JournalInvalidEventError');
    expect(error.message).to.include('jobId');
    const unknown = await expectRejection(journal.append({ type: 'job.teleported' } as unknown as JournalEventBody));
    expect(unknown.message).to.include('job.teleported');
    const badState = await expectRejection(
      journal.append({ ...(chunkLifecycle('A', 0)[6] as object), state: 'Done' } as unknown as JournalEventBody),
    );
    expect(badState.message).to.include('state');
    const event = await journal.append(runStarted());
    expect(event.seq).to.equal(1);
    await journal.close();
    expect(await readAll(file)).to.have.length(1);
  });

  it('close waits for appends already made', async () => {
    const { file, journal } = await journalIn();
    const pending = journal.append(runStarted());
    const closing = journal.close();
    const refused = await expectRejection(journal.append(runStarted()));
    expect(refused.name).to.equal('JournalClosedError');
    expect((await pending).seq).to.equal(1);
    await closing;
    expect(await readAll(file)).to.have.length(1);
  });

  it('rejects appends after close', async () => {
    const { journal } = await journalIn();
    await journal.close();
    await journal.close();
    const error = await expectRejection(journal.append(runStarted()));
    expect(error.name).to.equal('JournalClosedError');
  });

  it('reads lines longer than the read block, with multi-byte characters across block edges', async () => {
    const { file, journal } = await journalIn();
    await journal.append(runStarted());
    const reason = 'é€😀'.repeat(30_000);
    const bodies: JournalEventBody[] = [
      build.waveStarted(0, ['A']),
      build.stepStarted('A', 0, { object: 'Account', operation: 'insert' }),
      ...chunkLifecycle('A', 0).slice(0, 3),
      build.jobAborted({ step: 'A', chunk: 0 }, jobIdFor(0), reason),
    ];
    for (const body of bodies) {
      // eslint-disable-next-line no-await-in-loop
      await journal.append(body);
    }
    await journal.close();
    const events = await readAll(file);
    expect(events).to.have.length(7);
    expect((events[6] as { reason: string }).reason).to.equal(reason);
  });

  describe('torn last line', () => {
    async function journalWithTail(tail: string): Promise<{ file: string; complete: JournalEvent[] }> {
      const file = await freshFile();
      await writeJournal(file, finishedRun(1).slice(0, 5));
      const complete = await readAll(file);
      appendFileSync(file, tail);
      return { file, complete };
    }

    const tails: Array<[string, string]> = [
      ['cut mid-JSON, no newline', '{"seq":6,"time":"2026-11-29T02:30:00.000Z","type":"job.cre'],
      [
        'complete JSON but no newline',
        JSON.stringify(toStoredEvent(build.jobCreating({ step: 'Account', chunk: 0 }), 6, '2026-11-29T02:30:00.000Z')),
      ],
      ['zero bytes left by a power cut, with a newline', '\0\0\0\0\0\0\0\0\n'],
    ];

    for (const [what, tail] of tails) {
      it(`is skipped on read and truncated by openForAppend: ${what}`, async () => {
        const { file, complete } = await journalWithTail(tail);
        const torn: string[] = [];
        expect(await readAll(file, (line) => torn.push(line))).to.deep.equal(complete);
        expect(torn).to.deep.equal([tail.replace(/\n$/, '')]);

        const { journal, tornLine } = await Journal.openForAppend(file);
        expect(tornLine).to.equal(tail.replace(/\n$/, ''));
        expect(tornLineWarning(file, tornLine!)).to.include(file).and.to.include('cut short');
        expect(journal.lastSeq).to.equal(5);
        const next = await journal.append(build.jobCreating({ step: 'Account', chunk: 0 }));
        expect(next.seq).to.equal(6);
        await journal.close();

        const afterRepair: string[] = [];
        const events = await readAll(file, (line) => afterRepair.push(line));
        expect(afterRepair).to.deep.equal([]);
        expect(events).to.deep.equal([...complete, next]);
      });
    }

    it('openForAppend of an intact journal reports nothing and continues the numbering', async () => {
      const { file, complete } = await journalWithTail('');
      const { journal, tornLine } = await Journal.openForAppend(file);
      expect(tornLine).to.equal(undefined);
      expect(journal.lastSeq).to.equal(complete.length);
      await journal.close();
      expect(readFileSync(file, 'utf8').endsWith('\n')).to.equal(true);
    });

    it('openForAppend of an empty journal (a crash right after create) starts at seq 1', async () => {
      const { file, journal: created } = await journalIn();
      await created.close();
      const { journal, tornLine } = await Journal.openForAppend(file);
      expect(tornLine).to.equal(undefined);
      expect((await journal.append(runStarted())).seq).to.equal(1);
      await journal.close();
    });

    it('openForAppend of a journal holding only a torn line empties it', async () => {
      const { file, journal: created } = await journalIn();
      await created.close();
      appendFileSync(file, '{"seq":1,"ti');
      const { journal, tornLine } = await Journal.openForAppend(file);
      expect(tornLine).to.equal('{"seq":1,"ti');
      expect(journal.lastSeq).to.equal(0);
      await journal.close();
      expect(statSync(file).size).to.equal(0);
    });
  });

  describe('damage a crash cannot explain', () => {
    async function damaged(lineIndex: number, replacement: string): Promise<string> {
      const file = await freshFile();
      await writeJournal(file, finishedRun(1).slice(0, 6));
      const lines = readFileSync(file, 'utf8').split('\n');
      lines[lineIndex] = replacement;
      writeFileSync(file, lines.join('\n'));
      return file;
    }

    it('is an error naming the file and line', async () => {
      const file = await damaged(2, '{"seq":3,"time":"x","type":"step.start');
      const error = await expectRejection(readAll(file));
      expect(error.name).to.equal('JournalCorruptLineError');
      expect(error.message).to.include(file);
      expect(error.message).to.include('line 3');
      expect(error.data).to.deep.include({ file, line: 3 });
    });

    it('is an error when the last two lines are both damaged', async () => {
      const file = await damaged(5, 'garbage');
      appendFileSync(file, '{"seq":7');
      const error = await expectRejection(readAll(file));
      expect(error.data).to.deep.include({ line: 6 });
      const again = await expectRejection(Journal.openForAppend(file));
      expect(again.name).to.equal('JournalCorruptLineError');
      expect(again.data).to.deep.include({ line: 6 });
    });

    it('a last line that is JSON but no event is never repaired away', async () => {
      const file = await damaged(
        5,
        '{"seq":6,"time":"2026-11-29T02:30:00.000Z","type":"job.created","step":"Account"}',
      );
      const before = readFileSync(file, 'utf8');
      const error = await expectRejection(readAll(file));
      expect(error.name).to.equal('JournalCorruptLineError');
      expect(error.data).to.deep.include({ line: 6 });
      expect(error.message).to.include('job.created.chunk: missing');
      const again = await expectRejection(Journal.openForAppend(file));
      expect(again.data).to.deep.include({ line: 6 });
      expect(readFileSync(file, 'utf8')).to.equal(before);
    });

    it('a missing event is a seq gap', async () => {
      const file = await damaged(3, '');
      writeFileSync(file, readFileSync(file, 'utf8').replace('\n\n', '\n'));
      const error = await expectRejection(readAll(file));
      expect(error.name).to.equal('JournalSeqGapError');
      expect(error.data).to.deep.include({ line: 4, seq: 5, previousSeq: 3 });
    });
  });

  describe('readJournalEnds', () => {
    it('finds the first and last events without the lines between', async () => {
      const file = await freshFile();
      writeJournalLines(file, finishedRun(60));
      const all = await readAll(file);
      // damage a middle line: only a full read would notice
      const lines = readFileSync(file, 'utf8').split('\n');
      lines[300] = 'x'.repeat(lines[300].length);
      writeFileSync(file, lines.join('\n'));
      const ends = await readJournalEnds(file);
      expect(ends.first).to.deep.equal(all[0]);
      expect(ends.last).to.deep.equal(all[all.length - 1]);
      expect(ends.tornLine).to.equal(undefined);
      expect(ends.completeBytes).to.equal(ends.size);
    });
  });
});
