/*
 * Builds a run on disk by hand, journaling every step exactly as the engine does, against a local
 * org started in this process: a run whose one chunk stops in a chosen phase, so the status and
 * job commands can be tested on each phase deterministically (no timing, no killed process).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { AuthInfo, Connection, Org } from '@salesforce/core';
import { startLocalOrg, type LocalOrg, type LocalOrgOptions } from '@sf-migrate/local-org';
import { IngestJobClient } from '../../src/bulk/ingestJobClient.js';
import { createRunFolder, type RunFolder } from '../../src/journal/runFolder.js';
import { Journal } from '../../src/journal/journal.js';
import { JobIndex } from '../../src/journal/jobIndex.js';
import { fingerprintFile } from '../../src/journal/fingerprint.js';
import type { JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';

export const API_VERSION = '62.0';

/** what buildRun needs: a folder holding the manifest fixture, and an org with a client on it */
export type RunSite = {
  dir: string;
  manifestPath: string;
  root: string;
  org: { username: string; orgId: string; instanceUrl: string };
  client: IngestJobClient;
};

export type Scaffold = RunSite & {
  home: string;
  org: LocalOrg;
  /** a Connection to the local org, as --target-org gives the engine one */
  connection: Connection;
  cleanup(): Promise<void>;
};

/**
 * Writes a two-step manifest (Account, then Contact) and its CSV files into `dir`; returns the
 * manifest's path. Sources are absolute, so the run's manifest copy resolves them from anywhere.
 */
export async function writeManifestFixture(dir: string): Promise<string> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'data', 'accounts.csv'), 'Name\nAcme\nGlobex\nInitech\n');
  await writeFile(join(dir, 'data', 'contacts.csv'), 'LastName\nSmith\n');
  const manifestPath = join(dir, 'migration.json');
  await writeFile(
    manifestPath,
    JSON.stringify(
      {
        name: 'status-test',
        defaults: { operation: 'insert', poll: { initial: '20ms', max: '50ms' } },
        steps: [
          // absolute: the run's manifest copy resolves them the same wherever it is read from
          { object: 'Account', source: join(dir, 'data', 'accounts.csv') },
          { object: 'Contact', source: join(dir, 'data', 'contacts.csv'), dependsOn: ['Account'] },
        ],
      },
      null,
      2,
    ),
  );
  return manifestPath;
}

/** a Connection on `org` built from its access token (nothing is written to the sf state folder) */
export async function connectionTo(
  org: Pick<LocalOrg, 'accessToken' | 'instanceUrl' | 'username' | 'orgId'>,
): Promise<Connection> {
  const authInfo = await AuthInfo.create({
    accessTokenOptions: {
      accessToken: org.accessToken,
      instanceUrl: org.instanceUrl,
      loginUrl: org.instanceUrl,
      username: org.username,
      orgId: org.orgId,
    },
  });
  return Connection.create({ authInfo, connectionOptions: { version: API_VERSION } });
}

/** a temp folder with the manifest fixture, a temp HOME, and a local org */
export async function createScaffold(orgOptions: LocalOrgOptions = {}): Promise<Scaffold> {
  const dir = await mkdtemp(join(tmpdir(), 'sf-migrate-status-'));
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const manifestPath = await writeManifestFixture(dir);
  const org = await startLocalOrg(orgOptions);
  const connection = await connectionTo(org);
  const realHome = process.env.HOME;
  process.env.HOME = home;
  return {
    dir,
    home,
    org,
    connection,
    client: new IngestJobClient(connection, { retry: { attempts: 1 } }),
    manifestPath,
    root: join(dir, '.sf-migrate', 'runs'),
    async cleanup(): Promise<void> {
      process.env.HOME = realHome;
      await org.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type ChunkStop = 'planned' | 'created' | 'uploaded' | 'closing' | 'closed' | 'finished' | 'saved';

export type BuiltRun = {
  folder: RunFolder;
  journal: Journal;
  jobId?: string;
  append(body: JournalEventBody): Promise<void>;
};

/**
 * Starts a run of the scaffold's manifest and drives chunk 0 of step Account (3 records) to
 * `stop`, doing in the org what each journaled phase says was done. The journal is left open;
 * close it (or keep appending) in the test.
 */
export async function buildRun(scaffold: RunSite, stop: ChunkStop): Promise<BuiltRun> {
  const folder = await createRunFolder(scaffold.root, scaffold.manifestPath);
  const journal = await Journal.create(folder.journalPath);
  const append = async (body: JournalEventBody): Promise<void> => {
    await journal.append(body);
  };
  const ref = { step: 'Account', chunk: 0 };
  const file = join(scaffold.dir, 'data', 'accounts.csv');
  const contacts = join(scaffold.dir, 'data', 'contacts.csv');
  await append(
    build.runStarted({
      runId: folder.runId,
      manifest: scaffold.manifestPath,
      manifestSha256: createHash('sha256')
        .update(await readFile(scaffold.manifestPath))
        .digest('hex'),
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
      instanceUrl: scaffold.org.instanceUrl,
      apiVersion: API_VERSION,
      sources: [await fingerprintFile(file), await fingerprintFile(contacts)],
    }),
  );
  await append(build.waveStarted(0, ['Account']));
  await append(build.stepStarted('Account', 0, { object: 'Account', operation: 'insert' }));
  const size = (await readFile(file)).length;
  // no sha256: as a journal from before chunks were hashed, which resume must still accept
  await append(build.chunkPlanned(ref, { file, byteStart: 5, byteEnd: size, records: 3, attempt: 0 }));
  const built: BuiltRun = { folder, journal, append };
  if (stop === 'planned') return built;
  await append(build.jobCreating(ref));
  const info = await scaffold.client.create({ object: 'Account', operation: 'insert', lineEnding: 'LF' });
  const jobId = info.id;
  built.jobId = jobId;
  await append(build.jobCreated(ref, jobId));
  await JobIndex.record({
    jobId,
    runId: folder.runId,
    runDir: folder.dir,
    manifest: scaffold.manifestPath,
    username: scaffold.org.username,
    orgId: scaffold.org.orgId,
    instanceUrl: scaffold.org.instanceUrl,
    step: 'Account',
    chunk: 0,
    object: 'Account',
    operation: 'insert',
    createdAt: new Date().toISOString(),
  });
  if (stop === 'created') return built;
  const { bytes } = await scaffold.client.upload(jobId, () =>
    Readable.from([Buffer.from('Name\nAcme\nGlobex\nInitech\n')]),
  );
  await append(build.jobUploaded(ref, jobId, bytes));
  if (stop === 'uploaded') return built;
  await append(build.jobClosing(ref, jobId));
  if (stop === 'closing') return built;
  await scaffold.client.close(jobId);
  await append(build.jobClosed(ref, jobId));
  if (stop === 'closed') return built;
  const done = await scaffold.client.poll(jobId, { initialMs: 10, maxMs: 20 });
  await append(
    build.jobFinished(ref, jobId, {
      state: done.state,
      processed: done.numberRecordsProcessed ?? 0,
      failed: done.numberRecordsFailed ?? 0,
    }),
  );
  if (stop === 'finished') return built;
  // the paths the engine journals (no files are written: nothing here reads them)
  const resultFile = (kind: 'success' | 'failed' | 'unprocessed'): string =>
    relative(folder.dir, folder.resultFile('Account', jobId, kind));
  await append(
    build.resultsSaved(
      ref,
      jobId,
      { success: resultFile('success'), failed: resultFile('failed'), unprocessed: resultFile('unprocessed') },
      { success: 3, failed: 0, unprocessed: 0 },
    ),
  );
  return built;
}

/** a RunSite in `dir` against a local org registered as `alias` */
export async function runSite(dir: string, org: LocalOrg, alias = 'local'): Promise<RunSite> {
  const manifestPath = await writeManifestFixture(dir);
  const connection = (await Org.create({ aliasOrUsername: alias })).getConnection();
  return {
    dir,
    manifestPath,
    root: join(dir, '.sf-migrate', 'runs'),
    org: { username: org.username, orgId: org.orgId, instanceUrl: org.instanceUrl },
    client: new IngestJobClient(connection),
  };
}
