/*
 * Resume of a run with 1,000 finished jobs replays its journal: how long does that take?
 *
 *   node --import tsx bench/journal-replay.ts [jobs]
 *
 * Writes the journal of such a run (10 steps in 3 waves; every job goes through the whole
 * protocol, three in four after an abort and re-create, ~12 events a job), then times
 * replayJournal (median of several runs), listRuns (first/last line only) and, for scale, the
 * durable append rate of Journal (one fdatasync per event). Prints figures; asserts nothing.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { JournalEventBody } from '../src/journal/events.js';
import * as build from '../src/journal/eventBuilders.js';
import { toStoredEvent } from '../src/journal/eventCodec.js';
import { Journal } from '../src/journal/journal.js';
import { listRuns, runFolder } from '../src/journal/runFolder.js';
import { replayJournal } from '../src/journal/state.js';

const JOBS = Number(process.argv[2] ?? 1000);
const STEPS = 10;
const REPEATS = 7;

/** the run folder's layout, for the result paths the engine journals (no I/O) */
const layout = runFolder('/srv/cutover/.sf-migrate/runs', '20261129-023000-beef');

const jobId = (n: number): string => `7505g0000${String(n).padStart(6, '0')}AAA`;

function* runEvents(): Generator<JournalEventBody> {
  const steps = Array.from({ length: STEPS }, (_, i) => `Step_${i}`);
  const waves = [steps.slice(0, 3), steps.slice(3, 7), steps.slice(7)];
  yield build.runStarted({
    runId: '20261129-023000-beef',
    manifest: '/srv/cutover/migration.json',
    manifestSha256: 'a'.repeat(64),
    username: 'admin@acme.example',
    orgId: '00D5g000004XyZ1EAK',
    instanceUrl: 'https://acme.my.salesforce.com',
    apiVersion: '62.0',
    sources: steps.map((step) => ({
      file: `/srv/cutover/data/${step}.csv`,
      size: 1e9,
      mtimeMs: 1_764_383_400_000,
      sha256: 'b'.repeat(64),
    })),
  });
  let job = 0;
  const perStep = Math.ceil(JOBS / STEPS);
  for (const [wave, waveSteps] of waves.entries()) {
    yield build.waveStarted(wave, waveSteps);
    for (const step of waveSteps) {
      yield build.stepStarted(step, wave, { object: 'Account', operation: 'upsert' });
      let chunks = 0;
      for (let chunk = 0; chunk < perStep && job < JOBS; chunk++, job++, chunks++) {
        const ref = { step, chunk };
        yield build.chunkPlanned(ref, {
          file: `/srv/cutover/data/${step}.csv`,
          byteStart: chunk * 1e8,
          byteEnd: (chunk + 1) * 1e8,
          records: 150_000,
          attempt: 0,
        });
        yield build.jobCreating(ref);
        let id = jobId(2 * job);
        if (job % 4 !== 0) {
          yield build.jobCreated(ref, id);
          yield build.jobUploaded(ref, id, 1e8);
          yield build.jobAborted(ref, id, 'found Open on resume: a partial upload is never closed');
          yield build.jobCreating(ref);
          id = jobId(2 * job + 1);
        }
        yield build.jobCreated(ref, id);
        yield build.jobUploaded(ref, id, 1e8);
        yield build.jobClosing(ref, id);
        yield build.jobClosed(ref, id);
        yield build.jobFinished(ref, id, { state: 'JobComplete', processed: 150_000, failed: 12 });
        const file = (kind: 'success' | 'failed' | 'unprocessed'): string =>
          relative(layout.dir, layout.resultFile(step, id, kind));
        yield build.resultsSaved(
          ref,
          id,
          { success: file('success'), failed: file('failed'), unprocessed: file('unprocessed') },
          { success: 149_988, failed: 12, unprocessed: 0 },
        );
        yield build.jobDeleted(ref, id);
      }
      yield build.stepFinished(step, {
        records: chunks * 150_000,
        succeeded: chunks * 149_988,
        failed: chunks * 12,
        unprocessed: 0,
        jobs: chunks,
        gate: 'passed',
      });
    }
    yield build.waveFinished(wave, 'passed');
  }
  yield build.runFinished('completedWithFailures');
}

/** The same lines Journal.append writes, without an fdatasync each (only the replay is measured). */
async function writeJournalFile(file: string): Promise<number> {
  const out = createWriteStream(file, { mode: 0o600 });
  let seq = 0;
  const start = Date.UTC(2026, 10, 29, 2, 30);
  for (const body of runEvents()) {
    seq++;
    const line = `${JSON.stringify(toStoredEvent(body, seq, new Date(start + seq * 10).toISOString()))}\n`;
    // eslint-disable-next-line no-await-in-loop
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return seq;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value: number): string => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bench-journal-'));
  try {
    const folder = runFolder(root, '20261129-023000-beef');
    await mkdir(folder.dir);
    const events = await writeJournalFile(folder.journalPath);
    const bytes = statSync(folder.journalPath).size;

    const replays: number[] = [];
    let chunks = 0;
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      // eslint-disable-next-line no-await-in-loop
      const state = await replayJournal(folder.journalPath);
      replays.push(performance.now() - t0);
      chunks = [...state.steps.values()].reduce((sum, step) => sum + step.chunks.length, 0);
      if (state.events !== events || !state.finished) throw new Error('replay did not read the whole run');
    }

    const t1 = performance.now();
    await listRuns(root);
    const listing = performance.now() - t1;

    const appendFolder = runFolder(root, 'append-rate');
    await mkdir(appendFolder.dir);
    const journal = await Journal.create(appendFolder.journalPath);
    const sample = [...runEvents()].slice(0, 500);
    const t2 = performance.now();
    for (const body of sample) {
      // eslint-disable-next-line no-await-in-loop
      await journal.append(body);
    }
    const appendMs = performance.now() - t2;
    await journal.close();

    const lines = [
      `journal: ${JOBS} finished jobs (${chunks} chunks), ${events} events (${(events / JOBS).toFixed(1)} per job), ${(bytes / 1024 / 1024).toFixed(2)} MiB`,
      `replayJournal: median ${ms(median(replays))}, min ${ms(Math.min(...replays))}, max ${ms(Math.max(...replays))} over ${REPEATS} runs (first run includes JIT warm-up: ${ms(replays[0])})`,
      `listRuns (first and last line of the journal only): ${ms(listing)}`,
      `Journal.append, durable (fdatasync per event): ${sample.length} events in ${ms(appendMs)} = ${(appendMs / sample.length).toFixed(2)} ms/event on ${root}`,
      `node ${process.version}, ${process.platform}/${process.arch}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
