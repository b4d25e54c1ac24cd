/*
 * API calls per ingest job, polls apart, from the local org's request log: a small Account insert
 * (clean), then the same with some rows failing validation, in process against a fresh local org.
 *
 *   node --import tsx bench/calls-per-job.ts [records] [perJob]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthInfo, Connection } from '@salesforce/core';
import { startLocalOrg } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../src/manifest/load.js';
import { MigrationRun } from '../src/engine/migrationRun.js';

const records = Number(process.argv[2] ?? 1000);
const perJob = Number(process.argv[3] ?? 100);

async function measure(label: string, row: (k: number) => string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sf-migrate-calls-'));
  const home = process.env.HOME;
  process.env.HOME = dir;
  const org = await startLocalOrg();
  try {
    const authInfo = await AuthInfo.create({
      accessTokenOptions: {
        accessToken: org.accessToken,
        instanceUrl: org.instanceUrl,
        loginUrl: org.instanceUrl,
        username: org.username,
        orgId: org.orgId,
      },
    });
    const connection = await Connection.create({ authInfo, connectionOptions: { version: '62.0' } });
    const csv = join(dir, 'accounts.csv');
    await writeFile(csv, `Name\n${Array.from({ length: records }, (_, k) => row(k)).join('\n')}\n`);
    const manifest = join(dir, 'migration.json');
    await writeFile(
      manifest,
      JSON.stringify({
        name: 'calls',
        defaults: {
          operation: 'insert',
          maxRecordsPerJob: perJob,
          poll: { initial: '10ms', max: '40ms' },
          failureThreshold: { percent: 100 },
          retry: { attempts: 0 },
        },
        steps: [{ object: 'Account', source: csv }],
      }),
    );
    const run = await MigrationRun.start(await loadManifestOrThrow(manifest), {
      connection,
      username: org.username,
      orgId: org.orgId,
    });
    const outcome = await run.execute();
    const routes = Object.entries(org.stats().byRoute).filter(([route]) => route.includes('jobs/ingest'));
    const count = (route: string): number => org.stats().byRoute[route] ?? 0;
    const jobs = count('POST jobs/ingest');
    const calls = routes.reduce((sum, [, n]) => sum + n, 0);
    // a GET of one job is a poll, unless it follows a refused PATCH (none here)
    const polls = count('GET jobs/ingest/:id');
    process.stdout.write(
      `${label}: ${outcome.status}, ${jobs} jobs, ${calls - polls} calls besides ${polls} polls = ` +
        `${((calls - polls) / jobs).toFixed(2)} per job\n  ${routes.map(([r, n]) => `${r}: ${n}`).join('\n  ')}\n`,
    );
  } finally {
    await org.stop();
    process.env.HOME = home;
    await rm(dir, { recursive: true, force: true });
  }
}

await measure('clean', (k) => `Account ${k}`);
// every 50th row has no Name: REQUIRED_FIELD_MISSING, so every job has failed rows
await measure('with failures', (k) => (k % 50 === 0 ? '""' : `Account ${k}`));
