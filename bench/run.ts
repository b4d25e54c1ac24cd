/*
 * `npm run bench` — not part of CI's pass/fail. Migrates N generated records (default 1,000,000:
 * Account, Contact, Opportunity in two waves) into a local org in fast mode with the real
 * `sf migrate run`, and reports records/s, MB/s, the CLI process's peak RSS and the API calls it
 * made; then PUTs the same bytes to the same org with a bare streaming HTTP client (one job per
 * file, same wave order) as the physical limit, and prints the ratio.
 *
 *   npm run bench -- --records 100000
 *   npm run bench -- --compare [--records N] [--time-scale S]   issue 11's comparison (bench/compare.ts)
 */
import { createReadStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalOrg, registerLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { compare } from './compare.js';
import { http, runMeasured } from './measure.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    keep: { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
    'time-scale': { type: 'string', default: '0.25' },
    // during development: one contender only (sf-migrate or plugin-data)
    only: { type: 'string' },
  },
});
const total = Number(values.records);
const work = join(tmpdir(), `sf-migrate-bench-${values.compare ? 'compare-' : ''}${total}`);
if (values.compare) {
  const only = values.only as 'sf-migrate' | 'plugin-data' | undefined;
  if (only !== undefined && only !== 'sf-migrate' && only !== 'plugin-data')
    throw new Error('--only takes sf-migrate or plugin-data');
  await compare({ records: total, timeScale: Number(values['time-scale']), work, keep: values.keep, only });
  process.exit(0);
}
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

function generate(): { manifest: string; files: string[][] } {
  // 30% accounts, 40% contacts (children of accounts), 30% opportunities (children of accounts)
  const accounts = Math.floor(total * 0.3);
  const contacts = Math.floor(total * 0.4);
  const opportunities = total - accounts - contacts;
  const write = (name: string, header: string, n: number, row: (i: number) => string): string => {
    const file = join(work, name);
    const lines: string[] = [header];
    let text = '';
    for (let i = 0; i < n; i++) {
      lines.push(row(i));
      if (lines.length >= 10_000) {
        text += lines.join('\n') + '\n';
        lines.length = 0;
      }
    }
    text += lines.length ? lines.join('\n') + '\n' : '';
    writeFileSync(file, text);
    return file;
  };
  const a = write(
    'accounts.csv',
    'Name,Legacy_Id__c,Industry,AnnualRevenue',
    accounts,
    (i) => `"Bench Account ${i}, Inc.",BA-${i},Energy,${i * 10}`,
  );
  const c = write(
    'contacts.csv',
    'LastName,FirstName,Email,Legacy_Id__c,Account.Legacy_Id__c',
    contacts,
    (i) => `Contact${i},Bench,c${i}@example.com,BC-${i},BA-${i % accounts}`,
  );
  const o = write(
    'opportunities.csv',
    'Name,StageName,CloseDate,Amount,Account.Legacy_Id__c',
    opportunities,
    (i) => `Bench Opp ${i},Prospecting,2027-01-15,${i},BA-${i % accounts}`,
  );
  const manifest = join(work, 'migration.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      name: 'bench',
      defaults: { poll: { initial: '200ms', max: '2s' } },
      steps: [
        { object: 'Account', source: 'accounts.csv' },
        { object: 'Contact', source: 'contacts.csv' },
        { object: 'Opportunity', source: 'opportunities.csv' },
      ],
    }),
  );
  return { manifest, files: [[a], [c, o]] };
}

/** one job per file: create, stream the file as-is, close, wait until processed */
async function bareUpload(org: LocalOrg, file: string, object: string): Promise<void> {
  const base = '/services/data/v62.0/jobs/ingest';
  const job = JSON.parse(await http(org, 'POST', base, JSON.stringify({ object, operation: 'insert' }))) as {
    id: string;
  };
  await http(org, 'PUT', `${base}/${job.id}/batches`, createReadStream(file), 'text/csv');
  await http(org, 'PATCH', `${base}/${job.id}`, JSON.stringify({ state: 'UploadComplete' }));
  for (;;) {
    // eslint-disable-next-line no-await-in-loop
    const info = JSON.parse(await http(org, 'GET', `${base}/${job.id}`)) as { state: string };
    if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return;
    // eslint-disable-next-line no-await-in-loop
    await new Promise((wake) => setTimeout(wake, 200));
  }
}

const { manifest, files } = generate();
const bytes = files.flat().reduce((sum, file) => sum + statSync(file).size, 0);
const home = join(work, 'home');
mkdirSync(home, { recursive: true });
process.env.HOME = home;
const env = { ...process.env, HOME: home, NODE_ENV: 'production', SF_DISABLE_TELEMETRY: 'true' };

const org = await startLocalOrg({});
try {
  await registerLocalOrg(org, { alias: 'bench' });
  const before = { ...org.stats().byRoute };
  const migrate = await runMeasured(
    [join(root, 'bin', 'run.js'), 'migrate', 'run', '--manifest', manifest, '--target-org', 'bench', '--json'],
    env,
  );
  const after = org.stats().byRoute;
  const delta = Object.fromEntries(
    Object.entries(after)
      .map(([route, n]): [string, number] => [route, n - (before[route] ?? 0)])
      .filter(([, n]) => n > 0),
  );
  const calls = Object.values(delta).reduce((sum, n) => sum + n, 0);
  // job status polls are the GETs of one job; everything else is the per-job lifecycle or start-up
  const polls = Object.entries(delta)
    .filter(([route]) => /^GET .*jobs\/ingest\/:id$/.test(route))
    .reduce((sum, [, n]) => sum + n, 0);
  if (migrate.code !== 0) throw new Error(`sf migrate run exited with ${migrate.code}`);
  const jobs =
    Math.max(1, Math.ceil((total * 0.3) / 150_000)) +
    Math.ceil((total * 0.4) / 150_000) +
    Math.ceil((total * 0.3) / 150_000);

  // the same bytes by a bare client, into a fresh org so both start from the same state
  const bareOrg = await startLocalOrg({});
  const bareStart = Date.now();
  try {
    await bareUpload(bareOrg, files[0][0], 'Account');
    await Promise.all([bareUpload(bareOrg, files[1][0], 'Contact'), bareUpload(bareOrg, files[1][1], 'Opportunity')]);
  } finally {
    await bareOrg.stop();
  }
  const bareMs = Date.now() - bareStart;

  const mb = bytes / 1_000_000;
  const report = {
    records: total,
    megabytes: Number(mb.toFixed(1)),
    migrate: {
      seconds: Number((migrate.ms / 1000).toFixed(2)),
      recordsPerSecond: Math.round(total / (migrate.ms / 1000)),
      mbPerSecond: Number((mb / (migrate.ms / 1000)).toFixed(2)),
      peakRssMb: Math.round(migrate.peakRssMb),
      apiCalls: calls,
      polls,
      jobs,
      apiCallsPerJobBesidesPolls: Number(((calls - polls) / jobs).toFixed(1)),
      callsByRoute: delta,
    },
    bareUpload: { seconds: Number((bareMs / 1000).toFixed(2)), mbPerSecond: Number((mb / (bareMs / 1000)).toFixed(2)) },
    throughputVsBare: Number((bareMs / migrate.ms).toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await org.stop();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
