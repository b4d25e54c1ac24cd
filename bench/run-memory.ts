/*
 * Where a whole run's peak RSS comes from, at several sizes (issue 11: peak RSS must grow less than
 * 10% from 100k to 10M records). For each --records value: the compare bench's shape of data (30%
 * Accounts, 40% Contacts with half of them under 5% of the Accounts and a few parents bigger than a
 * batch, 30% Opportunities), one `sf migrate run` (compiled: run `npm run build` first) against a
 * local org in its default model (processing at CPU speed: the client's memory is the subject, not
 * the org's timing). The CLI's RSS is sampled every 100 ms and set against the journal's time
 * stamps, so each peak is attributed to what the run was doing: the row pass, the partition pass,
 * uploads, result downloads. Prints one JSON line a size; asserts nothing.
 *
 *   node --import tsx bench/run-memory.ts --records 400000,1000000 [--work /tmp/sf-migrate-run-memory]
 *     [--node-flag=--trace-gc]   (a flag for the CLI's node; the CLI's stdout, its --json result and
 *                                 what such a flag prints, is kept in <work>/<records>.stdout.txt, and
 *                                 each sample with what the run was doing in <work>/<records>.samples.txt)
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalOrg, registerLocalOrg } from '@sf-migrate/local-org';
import { generate } from './compare.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '400000,1000000' },
    work: { type: 'string', default: '/tmp/sf-migrate-run-memory' },
    keep: { type: 'boolean', default: false },
    'node-flag': { type: 'string' },
  },
});

type Sample = { at: number; rssMb: number };

/** runs the CLI, sampling its resident set every 100 ms */
function sampled(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: string,
): Promise<{ samples: Sample[]; hwmMb: number; code: number }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.pipe(createWriteStream(stdout));
    const samples: Sample[] = [];
    let hwmMb = 0;
    const timer = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const rss = /VmRSS:\s+(\d+) kB/.exec(status);
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (rss) samples.push({ at: Date.now(), rssMb: Number(rss[1]) / 1024 });
        if (hwm) hwmMb = Math.max(hwmMb, Number(hwm[1]) / 1024);
      } catch {
        // the process is gone
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(timer);
      done({ samples, hwmMb, code: code ?? 1 });
    });
  });
}

type Event = { at: number; type: string; step?: string };

function journalOf(runs: string): Event[] {
  const [run] = readdirSync(runs).filter((name) => !name.startsWith('.') && !name.endsWith('.lock'));
  return readFileSync(join(runs, run, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const event = JSON.parse(line) as { time: string; type: string; step?: string };
      return { at: Date.parse(event.time), type: event.type, step: event.step };
    });
}

/**
 * What each step was doing at `at`: preparing (step.started, before any chunk was planned: the row
 * and partition passes), loading (chunks planned, step not finished), or nothing.
 */
function activityAt(events: Event[], at: number): string {
  const state = new Map<string, string>();
  for (const event of events) {
    if (event.at > at) break;
    if (!event.step) continue;
    if (event.type === 'step.started') state.set(event.step, 'preparing');
    else if (event.type === 'source.prepared') state.set(event.step, 'partitioning or planning');
    else if (event.type === 'source.partitioned') state.set(event.step, 'planning');
    else if (event.type === 'chunk.planned') state.set(event.step, 'loading');
    else if (event.type === 'step.finished') state.delete(event.step);
  }
  return [...state].map(([step, what]) => `${step}: ${what}`).join('; ') || 'between steps';
}

const work = resolve(values.work);
for (const total of values.records.split(',').map(Number)) {
  const dir = join(work, String(total));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // the compare bench's data set, so the two measure the same load
  // eslint-disable-next-line no-await-in-loop
  const { files } = await generate(dir, total);
  const manifest = join(dir, 'migration.json');
  const steps = ['Account', 'Contact', 'Opportunity'].map((object) => ({ object, source: files[object] }));
  writeFileSync(manifest, JSON.stringify({ name: 'run-memory', steps }));
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  process.env.HOME = home;
  const env = {
    ...process.env,
    HOME: home,
    NODE_ENV: 'production',
    SF_DISABLE_TELEMETRY: 'true',
  };
  // eslint-disable-next-line no-await-in-loop
  const org = await startLocalOrg({});
  try {
    // eslint-disable-next-line no-await-in-loop
    await registerLocalOrg(org, { alias: 'run-memory' });
    const started = Date.now();
    // eslint-disable-next-line no-await-in-loop
    const run = await sampled(
      [
        ...(values['node-flag'] ? [values['node-flag']] : []),
        join(root, 'bin', 'run.js'),
        'migrate',
        'run',
        '--manifest',
        manifest,
        '--target-org',
        'run-memory',
        '--json',
      ],
      env,
      join(work, `${total}.stdout.txt`),
    );
    const events = journalOf(join(dir, '.sf-migrate', 'runs'));
    // every sample with what the run was doing, for a closer look
    writeFileSync(
      join(work, `${total}.samples.txt`),
      run.samples
        .map(
          (sample) =>
            `${((sample.at - started) / 1000).toFixed(1)} ${Math.round(sample.rssMb)} ${activityAt(events, sample.at)}`,
        )
        .join('\n'),
    );
    const top = [...run.samples].sort((a, b) => b.rssMb - a.rssMb)[0];
    // the highest sample of each activity, so a size's figures can be set against another's
    const byActivity = new Map<string, number>();
    for (const sample of run.samples) {
      const what = activityAt(events, sample.at).replace(/BC-|BA-/g, '');
      byActivity.set(what, Math.max(byActivity.get(what) ?? 0, Math.round(sample.rssMb)));
    }
    process.stdout.write(
      `${JSON.stringify({
        records: total,
        exitCode: run.code,
        seconds: Math.round((Date.now() - started) / 1000),
        peakRssMb: Math.round(run.hwmMb),
        peakAt: top ? { seconds: Math.round((top.at - started) / 1000), doing: activityAt(events, top.at) } : undefined,
        peakRssMbByActivity: Object.fromEntries([...byActivity].sort((a, b) => b[1] - a[1]).slice(0, 8)),
      })}\n`,
    );
  } finally {
    // eslint-disable-next-line no-await-in-loop
    await org.stop();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}
