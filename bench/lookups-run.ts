/*
 * Lookups in a real run (issue 12's benchmark), not part of CI's pass/fail: N Contacts (default
 * 200,000; the issue's figure is --contacts 1000000) inserted into a local org by `sf migrate run`,
 * twice, each run in a CLI process of its own, whose peak RSS (VmHWM) is sampled from /proc:
 *
 * - with lookups: each row names its owner by e-mail (OwnerEmail, against U seeded users, default
 *   50,000, 1 in 50 inactive and so given the default owner) and its account by a legacy code
 *   (AccountCode, against K Accounts loaded beforehand, default = N: a K-key lookup table). The run
 *   queries both snapshots through Bulk API 2.0 query jobs, indexes them and resolves every row in
 *   the pre-upload pass.
 * - without: the same rows with OwnerId and AccountId already resolved (the same upload, minus the
 *   snapshot queries and the pass).
 *
 *   node_modules/.bin/node --import tsx bench/lookups-run.ts [--contacts N] [--users U] [--accounts K] [--keep]
 *
 * Run `npm run build` first: the CLI runs from lib/. The org lives in this process (its memory is
 * not in the figures; for a million Contacts give it room: node --max-old-space-size=10000).
 *
 * Measured 2026-11-30 on a shared 2-core machine (other work running), instant local org, default
 * lookup index budget (64 MB), every row resolved as the pre-resolved run's:
 *   --contacts 200000 --users 50000 (200k-key Account lookup): without 9.5 s, 207 MB; with 14.0 s, 250 MB
 *   --contacts 1000000 --users 50000 (1M-key Account lookup): without 41.6 s, 206 MB; with 80.8 s, 259 MB
 */
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalOrg, registerLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { http, runMeasured } from './measure.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '200000' },
    users: { type: 'string', default: '50000' },
    accounts: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const contacts = Number(values.contacts);
const users = Number(values.users);
const accounts = Number(values.accounts ?? values.contacts);
const work = join(tmpdir(), `sf-migrate-bench-lookups-${contacts}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

/** writes `count` lines after `header`, 10,000 at a time */
function writeCsv(name: string, header: string, count: number, line: (i: number) => string): string {
  const file = join(work, name);
  const parts: string[] = [header];
  writeFileSync(file, '');
  let text = '';
  for (let i = 0; i < count; i++) {
    parts.push(line(i));
    if (parts.length >= 10_000) {
      text += parts.join('\n') + '\n';
      parts.length = 0;
      if (text.length > 16_000_000) {
        writeFileSync(file, text, { flag: 'a' });
        text = '';
      }
    }
  }
  text += parts.length ? parts.join('\n') + '\n' : '';
  writeFileSync(file, text, { flag: 'a' });
  return file;
}

/** the lookup table's Accounts, loaded in one ingest job before either run */
async function loadAccounts(org: LocalOrg, file: string): Promise<void> {
  const base = '/services/data/v62.0/jobs/ingest';
  const job = JSON.parse(await http(org, 'POST', base, JSON.stringify({ object: 'Account', operation: 'insert' }))) as {
    id: string;
  };
  await http(org, 'PUT', `${base}/${job.id}/batches`, createReadStream(file), 'text/csv');
  await http(org, 'PATCH', `${base}/${job.id}`, JSON.stringify({ state: 'UploadComplete' }));
  for (;;) {
    // eslint-disable-next-line no-await-in-loop
    const info = JSON.parse(await http(org, 'GET', `${base}/${job.id}`)) as {
      state: string;
      numberRecordsFailed: number;
    };
    if (info.state === 'JobComplete' && info.numberRecordsFailed === 0) return;
    if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) throw new Error(`accounts: ${JSON.stringify(info)}`);
    // eslint-disable-next-line no-await-in-loop
    await new Promise((wake) => setTimeout(wake, 200));
  }
}

const email = (u: number): string => `user${u}@bench.example`;
const seedUsers = Array.from({ length: users }, (_, u) => ({
  Username: email(u),
  LastName: `User ${u}`,
  Email: email(u),
  Alias: `u${u}`.slice(0, 8),
  TimeZoneSidKey: 'GMT',
  // 1 in 50 inactive, never the default owner
  ...(u > 0 && u % 50 === 0 ? { IsActive: false } : {}),
}));
const ownerOf = (i: number): number => (i * 7919) % users;
const accountOf = (i: number): number => (i * 104_729) % accounts;

const home = join(work, 'home');
mkdirSync(home, { recursive: true });
process.env.HOME = home;
const env = { ...process.env, HOME: home, NODE_ENV: 'production', SF_DISABLE_TELEMETRY: 'true' };

const org = await startLocalOrg({ seed: { User: seedUsers } });
try {
  await registerLocalOrg(org, { alias: 'bench' });
  await loadAccounts(
    org,
    writeCsv('accounts.csv', 'Name,Legacy_Id__c', accounts, (k) => `Bench Account ${k},ACC-${k}`),
  );
  const userId = new Map(org.store.records('User').map((r) => [String(r.Email), String(r.Id)]));
  const inactive = new Set(
    org.store
      .records('User')
      .filter((r) => r.IsActive === false)
      .map((r) => String(r.Email)),
  );
  const accountId = new Map(org.store.records('Account').map((r) => [String(r.Legacy_Id__c), String(r.Id)]));
  writeCsv('with.csv', 'LastName,FirstName,OwnerEmail,AccountCode', contacts, (i) =>
    [`Contact ${i}`, 'Bench', email(ownerOf(i)), `ACC-${accountOf(i)}`].join(','),
  );
  writeCsv('without.csv', 'LastName,FirstName,OwnerId,AccountId', contacts, (i) => {
    const owner = email(ownerOf(i));
    return [
      `Contact ${i}`,
      'Bench',
      userId.get(inactive.has(owner) ? email(0) : owner),
      accountId.get(`ACC-${accountOf(i)}`),
    ].join(',');
  });
  const manifest = (name: string, lookups: boolean): string => {
    const file = join(work, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        name: `bench-${name}`,
        defaults: { poll: { initial: '200ms', max: '2s' } },
        steps: [
          {
            object: 'Contact',
            source: `${name}.csv`,
            ...(lookups
              ? {
                  lookups: [
                    { column: 'OwnerEmail', user: 'Email', default: email(0), inactive: 'default' },
                    { column: 'AccountCode', field: 'AccountId', object: 'Account', matchOn: 'Legacy_Id__c' },
                  ],
                }
              : {}),
          },
        ],
      }),
    );
    return file;
  };
  const report: Record<string, unknown> = { contacts, users, lookupKeys: accounts };
  for (const [name, lookups] of [
    ['without', false],
    ['with', true],
  ] as const) {
    const before = org.store.count('Contact');
    const args = ['migrate', 'run', '--manifest', manifest(name, lookups), '--target-org', 'bench', '--json'];
    // eslint-disable-next-line no-await-in-loop -- one run at a time, so each has the machine to itself
    const run = await runMeasured([join(root, 'bin', 'run.js'), ...args], env);
    if (run.code !== 0) throw new Error(`sf migrate run (${name} lookups) exited with ${run.code}`);
    const loaded = org.store.count('Contact') - before;
    if (loaded !== contacts) throw new Error(`${name} lookups: ${loaded} of ${contacts} Contacts loaded`);
    report[`${name}Lookups`] = {
      seconds: Number((run.ms / 1000).toFixed(1)),
      recordsPerSecond: Math.round(contacts / (run.ms / 1000)),
      peakRssMb: Math.round(run.peakRssMb),
    };
  }
  // every row resolved as the baseline's: same owner and account for the same contact
  const firstRun = new Map<unknown, string>();
  let mismatched = 0;
  for (const r of org.store.records('Contact')) {
    const resolved = `${String(r.OwnerId)} ${String(r.AccountId)}`;
    const other = firstRun.get(r.LastName);
    if (other === undefined) firstRun.set(r.LastName, resolved);
    else if (other !== resolved) mismatched++;
  }
  report.resolutionMismatches = mismatched;
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await org.stop();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
