/*
 * `npm run bench -- --compare` (issue 11, "Must show"): one generated data set, each contender against a
 * fresh local org in the realistic processing model:
 *   - sf migrate: `migrate run` with the manifest's defaults;
 *   - plugin-data: `sf data import bulk` of each object, one after another in wave order, as a user would
 *     script it (the child files carry the relationship column `Account.Legacy_Id__c`, which a Bulk API
 *     2.0 insert resolves, so no upsert is needed for the parent link);
 *   - the model's lower bound, computed from the model's settings (see lowerBound below).
 * Timing is modelled: the org's clock runs at --time-scale real ms per modelled ms, while both clients
 * wait in real time (their poll intervals are not scaled), so ratios, not absolute times, are the claim.
 *
 *   npm run bench -- --compare --records 100000 --time-scale 0.25
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startLocalOrg, registerLocalOrg, type LocalOrg, type ModelSettings } from '@sf-migrate/local-org';
// the defaults are not part of the package's start-up API; the bench reads them where they are defined
import { modelSettings } from '../packages/local-org/src/processing/model-settings.js';
import { attribute, formatAttribution, timelineOf, type Attribution, type Timeline } from './attribution.js';

const root = resolve(import.meta.dirname, '..');
const API = '/services/data/v62.0/jobs/ingest';

export type CompareOptions = {
  records: number;
  timeScale: number;
  work: string;
  keep: boolean;
  /** during development: run one contender only */
  only?: 'sf-migrate' | 'plugin-data';
};

export type Shape = { accounts: number; contacts: number; opportunities: number; heavyAccounts: number; giants: number };

/** Deterministic, so two runs of the bench load the same rows in the same order. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d_2b_79_f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

async function writeLines(file: string, header: string, n: number, row: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  let block = header + '\n';
  for (let i = 0; i < n; i++) {
    block += row(i) + '\n';
    if (block.length > 1 << 20) {
      // eslint-disable-next-line no-await-in-loop -- back-pressure: never hold more than a block
      if (!out.write(block)) await once(out, 'drain');
      block = '';
    }
  }
  out.end(block);
  await once(out, 'finish');
}

/**
 * 30% Accounts, 40% Contacts, 30% Opportunities. Half of the Contacts belong to 5% of the Accounts
 * ("heavy"); a few of those ("giants", at 1M records five of them) hold 12,000 Contacts each, more than
 * an internal batch. Contacts are in a random order, as an export sorted by the source system's own id
 * would be with respect to the parent; Opportunities' parents are uniform.
 */
export async function generate(work: string, total: number): Promise<{ shape: Shape; files: Record<string, string> }> {
  const accounts = Math.floor(total * 0.3);
  const contacts = Math.floor(total * 0.4);
  const opportunities = total - accounts - contacts;
  const heavyAccounts = Math.max(1, Math.floor(accounts * 0.05));
  const giants = Math.max(1, Math.round(total / 200_000));
  const giantContacts = 12_000;
  const heavyShare = Math.floor(contacts / 2);
  const random = prng(11);
  const contactParent = (): number => {
    const pick = random() * contacts;
    if (pick >= heavyShare) return heavyAccounts + Math.floor(random() * (accounts - heavyAccounts));
    if (pick < Math.min(giants * giantContacts, heavyShare * 0.6)) return Math.floor(random() * giants);
    return giants + Math.floor(random() * (heavyAccounts - giants));
  };
  const files = {
    Account: join(work, 'accounts.csv'),
    Contact: join(work, 'contacts.csv'),
    Opportunity: join(work, 'opportunities.csv'),
  };
  await writeLines(
    files.Account,
    'Name,Legacy_Id__c,Industry,AnnualRevenue',
    accounts,
    (i) => `"Bench Account ${i}, Inc.",BA-${i},Energy,${i * 10}`,
  );
  await writeLines(
    files.Contact,
    'LastName,FirstName,Email,Legacy_Id__c,Account.Legacy_Id__c',
    contacts,
    (i) => `Contact${i},Bench,c${i}@example.com,BC-${i},BA-${contactParent()}`,
  );
  await writeLines(
    files.Opportunity,
    'Name,StageName,CloseDate,Amount,Account.Legacy_Id__c',
    opportunities,
    (i) => `Bench Opp ${i},Prospecting,2027-01-15,${i},BA-${Math.floor(random() * accounts)}`,
  );
  return { shape: { accounts, contacts, opportunities, heavyAccounts, giants }, files };
}

/** runs a command, sampling its peak RSS (VmHWM) from /proc while it runs; stdout is kept for --json */
function runMeasured(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; peakRssMb: number; code: number; stdout: string }> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (piece: string) => (stdout += piece));
    let peak = 0;
    const sample = (): void => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
      } catch {
        // the process is gone
      }
    };
    const timer = setInterval(sample, 100);
    child.on('close', (code) => {
      clearInterval(timer);
      done({ ms: Date.now() - started, peakRssMb: peak, code: code ?? 1, stdout });
    });
  });
}

function get(org: LocalOrg, path: string): Promise<NodeJS.ReadableStream> {
  return new Promise((done, fail) => {
    request(new URL(path, org.instanceUrl), { headers: { Authorization: `Bearer ${org.accessToken}` } }, (res) => {
      if ((res.statusCode ?? 500) >= 300) fail(new Error(`GET ${path}: ${res.statusCode}`));
      else done(res);
    })
      .on('error', fail)
      .end();
  });
}

async function countLines(input: NodeJS.ReadableStream, match?: string): Promise<number> {
  let n = -1; // the header
  for await (const line of createInterface({ input, crlfDelay: Infinity }))
    if (match === undefined ? line.length > 0 : line.includes(match)) n++;
  return match === undefined ? Math.max(0, n) : n + 1;
}

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name));
}

type Calls = { calls: number; polls: number; byRoute: Record<string, number> };

function callsSince(org: LocalOrg, before: Record<string, number>): Calls {
  const byRoute = Object.fromEntries(
    Object.entries(org.stats().byRoute)
      .map(([route, n]): [string, number] => [route, n - (before[route] ?? 0)])
      .filter(([, n]) => n > 0),
  );
  const all = Object.values(byRoute).reduce((sum, n) => sum + n, 0);
  // a job status poll is a GET of one job; everything else is a job's lifecycle, auth or start-up
  const polls = Object.entries(byRoute)
    .filter(([route]) => /^GET .*jobs\/ingest\/:id$/.test(route))
    .reduce((sum, [, n]) => sum + n, 0);
  return { calls: all - polls, polls, byRoute };
}

type Contender = {
  seconds: number;
  apiCalls: number;
  polls: number;
  lockFailedRows: number;
  deadLetters: number;
  /** dead letters (sf migrate) or failed rows (plugin-data) whose error is UNABLE_TO_LOCK_ROW */
  lockDeadLetters: number;
  peakRssMb: number;
  exitCodes: number[];
  byRoute: Record<string, number>;
  /** sf migrate only: where the modelled time went, from the journal's time stamps */
  timeline?: Timeline;
  /** sf migrate only: the same against the model's report (bench/attribution.ts) */
  attribution?: Attribution;
};

const WAVES: string[][] = [['Account'], ['Contact', 'Opportunity']];

async function sfMigrate(
  settings: { timeScale: number },
  files: Record<string, string>,
  work: string,
  env: NodeJS.ProcessEnv,
): Promise<Contender> {
  const dir = join(work, 'migrate');
  mkdirSync(dir, { recursive: true });
  const manifest = join(dir, 'migration.json');
  const steps = WAVES.flat().map((object) => ({ object, source: files[object] }));
  writeFileSync(manifest, JSON.stringify({ name: 'bench-compare', steps }));
  const org = await startLocalOrg({ model: 'realistic', modelSettings: settings });
  try {
    await registerLocalOrg(org, { alias: 'bench-migrate' });
    const before = { ...org.stats().byRoute };
    const run = await runMeasured(
      [
        join(root, 'bin', 'run.js'),
        'migrate',
        'run',
        '--manifest',
        manifest,
        '--target-org',
        'bench-migrate',
        '--json',
      ],
      env,
    );
    const calls = callsSince(org, before);
    const report = org.modelReport()!;
    const runs = join(dir, '.sf-migrate', 'runs');
    let lockFailedRows = 0;
    for (const file of filesUnder(runs, '-failed.csv'))
      // eslint-disable-next-line no-await-in-loop
      lockFailedRows += await countLines(createReadStream(file), 'UNABLE_TO_LOCK_ROW');
    let deadLetters = 0;
    let lockDeadLetters = 0;
    for (const file of filesUnder(runs, '.csv').filter((f) => f.includes('dead-letter'))) {
      // eslint-disable-next-line no-await-in-loop
      deadLetters += await countLines(createReadStream(file));
      // eslint-disable-next-line no-await-in-loop
      lockDeadLetters += await countLines(createReadStream(file), 'UNABLE_TO_LOCK_ROW');
    }
    return {
      seconds: run.ms / 1000,
      apiCalls: calls.calls,
      polls: calls.polls,
      lockFailedRows,
      deadLetters,
      lockDeadLetters,
      peakRssMb: run.peakRssMb,
      exitCodes: [run.code],
      byRoute: calls.byRoute,
      timeline: await timelineOf(filesUnder(runs, 'journal.jsonl')[0], settings.timeScale),
      attribution: await attribute(filesUnder(runs, 'journal.jsonl')[0], report),
    };
  } finally {
    await org.stop();
  }
}

async function pluginData(
  settings: Partial<ModelSettings>,
  files: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Promise<Contender> {
  const org = await startLocalOrg({ model: 'realistic', modelSettings: settings });
  try {
    await registerLocalOrg(org, { alias: 'bench-plugin-data' });
    const before = { ...org.stats().byRoute };
    // plugin-data is a dev plugin of this checkout: NODE_ENV=development makes oclif load it
    const devEnv = { ...env, NODE_ENV: 'development' };
    let ms = 0;
    let peakRssMb = 0;
    const exitCodes: number[] = [];
    for (const object of WAVES.flat()) {
      // eslint-disable-next-line no-await-in-loop -- one object after another, as a user's script would
      const run = await runMeasured(
        [
          join(root, 'bin', 'run.js'),
          'data',
          'import',
          'bulk',
          '--sobject',
          object,
          '--file',
          files[object],
          '--wait',
          '600',
          '--target-org',
          'bench-plugin-data',
          '--json',
        ],
        devEnv,
      );
      ms += run.ms;
      peakRssMb = Math.max(peakRssMb, run.peakRssMb);
      exitCodes.push(run.code);
    }
    const calls = callsSince(org, before);
    // plugin-data leaves its jobs in the org: their failed results say which rows failed and why
    const list = JSON.parse(await readAll(await get(org, API))) as { records: Array<{ id: string }> };
    let lockFailedRows = 0;
    let failedRows = 0;
    for (const job of list.records) {
      // eslint-disable-next-line no-await-in-loop
      failedRows += await countLines(await get(org, `${API}/${job.id}/failedResults`));
      // eslint-disable-next-line no-await-in-loop
      lockFailedRows += await countLines(await get(org, `${API}/${job.id}/failedResults`), 'UNABLE_TO_LOCK_ROW');
    }
    return {
      seconds: ms / 1000,
      apiCalls: calls.calls,
      polls: calls.polls,
      lockFailedRows,
      deadLetters: failedRows,
      lockDeadLetters: lockFailedRows,
      peakRssMb,
      exitCodes,
      byRoute: calls.byRoute,
    };
  } finally {
    await org.stop();
  }
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const piece of input) text += String(piece);
  return text;
}

/**
 * The model's lower bound, in modelled seconds. Per wave: its files uploaded one after another over
 * the modelled link (bytes / uploadBytesPerSecond), then its records processed by all workers at once
 * with no lock waits (Σ records × ms per record of their object / workers, but never less than the
 * longest single batch, min(records, batchRecords) × ms per record), plus the four calls a job needs at
 * the least (create, upload, close, one poll) × requestLatencyMs. Waves add up, since a wave starts only
 * when the previous one is loaded.
 */
function lowerBound(settings: ModelSettings, files: Record<string, string>, shape: Shape): number {
  const records: Record<string, number> = {
    Account: shape.accounts,
    Contact: shape.contacts,
    Opportunity: shape.opportunities,
  };
  const ms = (object: string): number => settings.objectMsPerRecord[object] ?? settings.msPerRecord;
  let total = 0;
  for (const wave of WAVES) {
    const upload = wave.reduce((sum, object) => sum + statSync(files[object]).size, 0) / settings.uploadBytesPerSecond;
    const work = wave.reduce((sum, object) => sum + records[object] * ms(object), 0) / settings.workers;
    const longestBatch = Math.max(
      ...wave.map((object) => Math.min(records[object], settings.batchRecords) * ms(object)),
    );
    total += upload * 1000 + Math.max(work, longestBatch) + 4 * settings.requestLatencyMs;
  }
  return total / 1000;
}

export async function compare(options: CompareOptions): Promise<void> {
  const { records, timeScale, work } = options;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const { shape, files } = await generate(work, records);
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  process.env.HOME = home;
  const env = { ...process.env, HOME: home, NODE_ENV: 'production', SF_DISABLE_TELEMETRY: 'true' };
  const settings = modelSettings({ timeScale });
  try {
    const migrate = options.only === 'plugin-data' ? undefined : await sfMigrate({ timeScale }, files, work, env);
    const plugin = options.only === 'sf-migrate' ? undefined : await pluginData({ timeScale }, files, env);
    // the lower bound is in modelled time; the contenders' wall times are real, so scale it back
    const boundModelled = lowerBound(settings, files, shape);
    const bound = boundModelled * timeScale;
    const fixed = (n: number, digits = 2): number => Number(n.toFixed(digits));
    const row = (c: Contender): Record<string, unknown> => ({
      wallSeconds: fixed(c.seconds, 1),
      modelledSeconds: fixed(c.seconds / timeScale, 0),
      apiCallsBesidesPolls: c.apiCalls,
      polls: c.polls,
      unableToLockRowRows: c.lockFailedRows,
      peakRssMb: Math.round(c.peakRssMb),
      vsLowerBound: fixed(c.seconds / bound),
      exitCodes: c.exitCodes,
    });
    const report = {
      records,
      shape,
      model: { ...settings, note: 'client poll intervals are real time; the org runs at timeScale' },
      lowerBound: { wallSeconds: fixed(bound, 1), modelledSeconds: fixed(boundModelled, 0) },
      ...(migrate
        ? {
            sfMigrate: {
              ...row(migrate),
              deadLetters: migrate.deadLetters,
              lockDeadLetters: migrate.lockDeadLetters,
              timeline: migrate.timeline,
              attribution: migrate.attribution,
            },
          }
        : {}),
      ...(plugin
        ? { pluginData: { ...row(plugin), failedRows: plugin.deadLetters, lockFailedRows: plugin.lockDeadLetters } }
        : {}),
      ...(migrate && plugin
        ? {
            sfMigrateVsPluginData: {
              speedUp: fixed(plugin.seconds / migrate.seconds),
              apiCallsRatio: fixed(migrate.apiCalls / plugin.apiCalls),
              callsWithPollsRatio: fixed((migrate.apiCalls + migrate.polls) / (plugin.apiCalls + plugin.polls)),
              pollsRatio: fixed(migrate.polls / Math.max(1, plugin.polls)),
              peakRssRatio: fixed(migrate.peakRssMb / plugin.peakRssMb),
            },
          }
        : {}),
      byRoute: { sfMigrate: migrate?.byRoute, pluginData: plugin?.byRoute },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const table = [
      ['', 'wall s', 'modelled s', 'API calls', 'polls', 'LOCK rows', 'dead/failed (LOCK)', 'peak RSS MB', '× bound'],
      ['lower bound', fixed(bound, 1), fixed(boundModelled, 0), '', '', '', '', '', 1],
      ...(migrate ? [['sf migrate', ...tableRow(migrate, timeScale, bound)]] : []),
      ...(plugin ? [['plugin-data', ...tableRow(plugin, timeScale, bound)]] : []),
    ];
    for (const line of table) process.stdout.write(`| ${line.map(String).join(' | ')} |\n`);
    if (migrate?.attribution) process.stdout.write(formatAttribution(migrate.attribution));
  } finally {
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }
}

function tableRow(c: Contender, timeScale: number, bound: number): Array<string | number> {
  return [
    c.seconds.toFixed(1),
    Math.round(c.seconds / timeScale),
    c.apiCalls,
    c.polls,
    c.lockFailedRows,
    `${c.deadLetters} (${c.lockDeadLetters})`,
    Math.round(c.peakRssMb),
    (c.seconds / bound).toFixed(2),
  ];
}
