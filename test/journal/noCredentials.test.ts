import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import { protocolFieldPaths, redactCredentials } from '../../src/journal/eventCodec.js';
import { JobIndex } from '../../src/journal/jobIndex.js';
import { Journal } from '../../src/journal/journal.js';
import { acquireRunLock } from '../../src/journal/lock.js';
import { createRunFolder } from '../../src/journal/runFolder.js';
import { replayJournal } from '../../src/journal/state.js';
import {
  ACCESS_TOKEN,
  chunkLifecycle,
  finishedRun,
  jobIdFor,
  ORG_ID,
  REFRESH_TOKEN,
  scratch,
} from './journalFixtures.js';

/** what careless engine code might spread into an event: a connection's auth fields and a job record */
const connection = {
  accessToken: ACCESS_TOKEN,
  refreshToken: REFRESH_TOKEN,
  instanceUrl: 'https://acme.my.salesforce.com',
  password: 'Winter2026!',
  headers: { Authorization: `Bearer ${ACCESS_TOKEN}` },
};

const SECRETS = [ACCESS_TOKEN, ACCESS_TOKEN.split('!')[1], REFRESH_TOKEN, 'Winter2026!'];
const CREDENTIAL_SHAPE = /00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{10,}/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('no credential reaches the disk', () => {
  const tmp = scratch('nocreds-');
  const realHome = process.env.HOME;
  before(() => {
    process.env.HOME = tmp.path('home');
  });
  after(() => {
    process.env.HOME = realHome;
    tmp.remove();
  });

  it('no event type has a field that could name a credential', () => {
    const fields = Object.values(protocolFieldPaths()).flat();
    expect(fields.length).to.be.greaterThan(40);
    for (const field of fields) expect(field).not.to.match(/token|secret|password|session|auth|sid\b|cookie|key/i);
  });

  it('a simulated run leaves no token in its folder or the job index', async () => {
    const manifest = tmp.path('migration.json');
    writeFileSync(manifest, '{"name":"cutover","steps":[]}');
    const folder = await createRunFolder(tmp.path('runs'), manifest);
    const lock = await acquireRunLock(folder);
    const journal = await Journal.create(folder.journalPath);
    const sloppy = (body: JournalEventBody): JournalEventBody => ({ ...connection, ...body }) as JournalEventBody;

    const run = finishedRun(2);
    for (const body of run.slice(0, 3 + 9)) {
      // eslint-disable-next-line no-await-in-loop
      await journal.append(sloppy(body));
    }
    // chunk 1: its first job fails on an expired session and is aborted, the error text quoting the token
    const [planned, creating, created] = chunkLifecycle('Account', 1, jobIdFor(50));
    for (const body of [planned, creating, created]) {
      // eslint-disable-next-line no-await-in-loop
      await journal.append(sloppy(body));
    }
    await journal.append(
      build.jobAborted(
        { step: 'Account', chunk: 1 },
        jobIdFor(50),
        `INVALID_SESSION_ID: Session expired or invalid (sid=${ACCESS_TOKEN}; Authorization: Bearer ${ACCESS_TOKEN}; refresh_token=${REFRESH_TOKEN})`,
      ),
    );
    for (const body of chunkLifecycle('Account', 1).slice(1)) {
      // eslint-disable-next-line no-await-in-loop
      await journal.append(
        sloppy(body.type === 'job.finished' ? { ...body, errorMessage: `retried after ${ACCESS_TOKEN}` } : body),
      );
    }
    for (const body of run.slice(3 + 18)) {
      // eslint-disable-next-line no-await-in-loop
      await journal.append(sloppy(body));
    }
    await journal.close();
    await JobIndex.record({
      ...connection,
      jobId: jobIdFor(1),
      runId: folder.runId,
      runDir: folder.dir,
      manifest,
      username: 'admin@acme.example',
      orgId: ORG_ID,
      instanceUrl: connection.instanceUrl,
      step: 'Account',
      chunk: 1,
      object: 'Account',
      operation: 'insert',
      createdAt: new Date().toISOString(),
    });

    const state = await replayJournal(folder.journalPath);
    expect(state.finished?.status).to.equal('completedWithFailures');
    expect(state.steps.get('Account')!.chunks[1].abandonedJobIds).to.deep.equal([jobIdFor(50)]);

    const written = [...filesUnder(folder.dir), JobIndex.path()];
    expect(written).to.include(folder.journalPath);
    expect(written).to.include(folder.lockPath);
    for (const file of written) {
      const text = readFileSync(file, 'utf8');
      for (const secret of SECRETS) expect(text, file).not.to.include(secret);
      expect(text, file).not.to.match(CREDENTIAL_SHAPE);
      expect(text, file).not.to.match(/Bearer [A-Za-z0-9]/);
    }
    // the reason is kept, minus the credentials
    expect(readFileSync(folder.journalPath, 'utf8')).to.include(
      'INVALID_SESSION_ID: Session expired or invalid (sid=[redacted]',
    );
    await lock.release();
  });

  it('refuses a structural field holding a credential instead of altering it', async () => {
    const file = tmp.path('runs', 'r2', 'journal.jsonl');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(tmp.path('runs', 'r2'), { recursive: true });
    const journal = await Journal.create(file);
    try {
      await journal.append(build.runResumed(1, ACCESS_TOKEN));
      expect.fail('expected a rejection');
    } catch (error) {
      expect((error as Error).message).to.include('looks like a credential');
      expect((error as Error).message).not.to.include(ACCESS_TOKEN);
    } finally {
      await journal.close();
    }
    expect(readFileSync(file, 'utf8')).to.equal('');
  });

  it('redactCredentials masks session ids, Authorization values and secret fields, and nothing else', () => {
    expect(redactCredentials(`x ${ACCESS_TOKEN} y`)).to.equal('x [redacted] y');
    expect(redactCredentials('Authorization: Bearer abcdefgh12345678')).to.equal('Authorization: Bearer [redacted]');
    expect(redactCredentials('{"access_token":"abc.def","x":1}')).to.equal('{"access_token":"[redacted]","x":1}');
    expect(redactCredentials('grant_type=refresh_token&refresh_token=5Aep861&client_secret=zz')).to.equal(
      'grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]',
    );
    const plain = 'REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (row 00D is fine)';
    expect(redactCredentials(plain)).to.equal(plain);
  });
});
