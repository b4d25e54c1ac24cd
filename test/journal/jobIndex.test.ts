import { appendFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import {
  JOB_INDEX_RETENTION_DAYS,
  JobIndex,
  normalizeSalesforceId,
  toEighteen,
  type JobIndexEntry,
} from '../../src/journal/jobIndex.js';
import { ACCESS_TOKEN, ORG_ID, scratch } from './journalFixtures.js';

describe('toEighteen', () => {
  // suffix: per block of 5 characters, bit i set when character i is an uppercase letter, as A–Z0–5
  const pairs: Array<[string, string, string]> = [
    ['001000000000001', '001000000000001AAA', 'no letters: every block is 0 → A'],
    ['00D000000000062', '00D000000000062EAA', 'block 1 "00D00": D at 2 → 4 → E'],
    ['a0D30000001n7Pi', 'a0D30000001n7PiEAI', 'block 1 D at 2 → E; block 3 "1n7Pi": P at 3 → 8 → I'],
    ['0015g00000ABCDE', '0015g00000ABCDEAA5', 'block 3 all uppercase → 31 → 5'],
    ['7505g00000XyZ1q', '7505g00000XyZ1qAAF', 'block 3 "XyZ1q": X at 0, Z at 2 → 1 + 4 = 5 → F'],
    ['ABCDEabcdeAbCdE', 'ABCDEabcdeAbCdE5AV', 'block 3 "AbCdE": A, C, E at 0, 2, 4 → 21 → V'],
  ];
  for (const [id15, id18, why] of pairs) {
    it(`${id15} → ${id18} (${why})`, () => {
      expect(toEighteen(id15)).to.equal(id18);
      expect(normalizeSalesforceId(id15)).to.equal(id18);
      expect(normalizeSalesforceId(id18)).to.equal(id18);
    });
  }

  it('restores the case of an 18-character id from its suffix', () => {
    expect(normalizeSalesforceId('7505G00000XYZ1QAAF')).to.equal('7505g00000XyZ1qAAF');
    expect(normalizeSalesforceId('abcdeabcdeabcde5av')).to.equal('ABCDEabcdeAbCdE5AV');
  });

  it('refuses what is not an id', () => {
    for (const bad of [
      '',
      '75050000',
      '7505g00000XyZ1q-',
      '7505g00000XyZ1qAA',
      '7505g00000XyZ1qAAFX',
      '7505g00000XyZ1q!!!',
    ]) {
      expect(() => normalizeSalesforceId(bad), bad)
        .to.throw(SfError)
        .with.property('name', 'InvalidSalesforceIdError');
    }
    expect(() => toEighteen('7505g00000XyZ1qAAF')).to.throw(SfError);
    // suffix says "uppercase" over a digit: no real id has it
    expect(() => normalizeSalesforceId('001000000000001BAA')).to.throw(SfError);
  });
});

describe('JobIndex', () => {
  const tmp = scratch('jobindex-');
  const realHome = process.env.HOME;
  // the sf state folder follows the home directory
  before(() => {
    process.env.HOME = tmp.dir;
  });
  after(() => {
    process.env.HOME = realHome;
    tmp.remove();
  });

  const entry = (over: Partial<JobIndexEntry> = {}): JobIndexEntry => ({
    jobId: '7505g00000XyZ1qAAF',
    runId: '20261129-023000-4f2a',
    runDir: '/srv/cutover/.sf-migrate/runs/20261129-023000-4f2a',
    manifest: '/srv/cutover/migration.json',
    username: 'admin@acme.example',
    orgId: ORG_ID,
    instanceUrl: 'https://acme.my.salesforce.com',
    step: 'Account',
    chunk: 0,
    object: 'Account',
    operation: 'insert',
    createdAt: '2026-11-29T02:30:00.000Z',
    ...over,
  });

  it('lives in the sf state folder, owner-only, and keeps only its fields', async () => {
    expect(homedir()).to.equal(tmp.dir);
    expect(JobIndex.path()).to.equal(join(tmp.dir, '.sf', 'sf-migrate', 'job-index.jsonl'));
    await JobIndex.record({ ...entry({ jobId: '7505g00000AbCdE' }), accessToken: ACCESS_TOKEN } as JobIndexEntry);
    expect(statSync(JobIndex.path()).mode & 0o777).to.equal(0o600);
    expect(statSync(join(tmp.dir, '.sf', 'sf-migrate')).mode & 0o777).to.equal(0o700);
    const text = readFileSync(JobIndex.path(), 'utf8');
    expect(text).not.to.include(ACCESS_TOKEN);
    expect(JSON.parse(text.trim())).to.deep.equal(entry({ jobId: '7505g00000AbCdEAAV' }));
  });

  it('finds a job by its 15- or 18-character id, case-sensitively on the 15', async () => {
    await JobIndex.record(entry());
    expect(await JobIndex.find('7505g00000XyZ1q')).to.deep.equal(entry());
    expect(await JobIndex.find('7505g00000XyZ1qAAF')).to.deep.equal(entry());
    // case lost on the way, restored by the suffix
    expect(await JobIndex.find('7505G00000XYZ1QAAF')).to.deep.equal(entry());
    // another 15-character id (case differs): another job
    expect(await JobIndex.find('7505g00000xyz1q')).to.equal(undefined);
    expect(await JobIndex.find('7505g00000XyZ1r')).to.equal(undefined);
  });

  it('the newest entry of a job wins', async () => {
    await JobIndex.record(entry({ jobId: '7505g00000NeW01', runId: 'first' }));
    await JobIndex.record(entry({ jobId: '7505g00000NeW01', runId: 'second' }));
    expect((await JobIndex.find('7505g00000NeW01'))?.runId).to.equal('second');
  });

  it('filters by org id (15 or 18 characters) and by username', async () => {
    const otherOrg = '00D5g000009QqQqEAK';
    await JobIndex.record(entry({ jobId: '7505g00000MuLt1', orgId: ORG_ID, runId: 'prod' }));
    await JobIndex.record(
      entry({ jobId: '7505g00000MuLt1', orgId: otherOrg, username: 'admin@acme.example.uat', runId: 'uat' }),
    );
    expect((await JobIndex.find('7505g00000MuLt1'))?.runId).to.equal('uat');
    expect((await JobIndex.find('7505g00000MuLt1', { orgId: ORG_ID }))?.runId).to.equal('prod');
    expect((await JobIndex.find('7505g00000MuLt1', { orgId: ORG_ID.slice(0, 15) }))?.runId).to.equal('prod');
    expect((await JobIndex.find('7505g00000MuLt1', { username: 'ADMIN@acme.example' }))?.runId).to.equal('prod');
    expect(await JobIndex.find('7505g00000MuLt1', { orgId: otherOrg, username: 'admin@acme.example' })).to.equal(
      undefined,
    );
  });

  it('skips a line torn by a crash', async () => {
    appendFileSync(JobIndex.path(), '{"jobId":"7505g00000ToRn1AAA","runId":"x"');
    await JobIndex.record(entry({ jobId: '7505g00000AfTeR' }));
    expect(await JobIndex.find('7505g00000ToRn1')).to.equal(undefined);
    expect((await JobIndex.find('7505g00000AfTeR'))?.jobId).to.equal(toEighteen('7505g00000AfTeR'));
  });

  it('refuses a malformed id', async () => {
    try {
      await JobIndex.find('not-a-job');
      expect.fail('expected a rejection');
    } catch (error) {
      expect((error as SfError).name).to.equal('InvalidSalesforceIdError');
    }
  });

  it('finds nothing before any job was recorded', async () => {
    process.env.HOME = tmp.path('fresh-home');
    try {
      expect(await JobIndex.find('7505g00000XyZ1q')).to.equal(undefined);
    } finally {
      process.env.HOME = tmp.dir;
    }
  });

  describe('pruning', () => {
    const DAY = 24 * 60 * 60 * 1000;
    const at = (daysAgo: number): string => new Date(Date.now() - daysAgo * DAY).toISOString();
    const ids = (entries: JobIndexEntry[]): string[] => entries.map((one) => one.jobId);
    const all = async (options: { runId?: string } = {}): Promise<JobIndexEntry[]> => {
      const found: JobIndexEntry[] = [];
      for await (const one of JobIndex.entries(options)) found.push(one);
      return found;
    };

    beforeEach(() => {
      process.env.HOME = tmp.path(`prune-home-${Math.random().toString(16).slice(2)}`);
    });
    afterEach(() => {
      process.env.HOME = tmp.dir;
    });

    it(`drops entries older than ${JOB_INDEX_RETENTION_DAYS} days and damaged lines, in one rename`, async () => {
      await JobIndex.record(entry({ jobId: '7505g00000OlD01', createdAt: at(JOB_INDEX_RETENTION_DAYS + 5) }));
      appendFileSync(JobIndex.path(), 'not json\n');
      await JobIndex.record(entry({ jobId: '7505g00000NeW02', createdAt: at(JOB_INDEX_RETENTION_DAYS - 1) }));
      await JobIndex.record(entry({ jobId: '7505g00000NeW03', createdAt: at(0) }));
      expect(await JobIndex.prune()).to.equal(2);
      expect(ids(await all())).to.deep.equal([toEighteen('7505g00000NeW02'), toEighteen('7505g00000NeW03')]);
      expect(statSync(JobIndex.path()).mode & 0o777).to.equal(0o600);
      // nothing but the index (and no lock) is left in its folder: no temporary file
      expect(readdirSync(join(JobIndex.path(), '..'))).to.deep.equal(['job-index.jsonl']);
      // a second prune finds nothing to drop
      expect(await JobIndex.prune()).to.equal(0);
    });

    it('loses no entry recorded while it prunes', async () => {
      await JobIndex.record(entry({ jobId: '7505g00000OlD01', createdAt: at(JOB_INDEX_RETENTION_DAYS + 1) }));
      const fresh = Array.from({ length: 12 }, (_, n) => `7505g00000Cc${String(n).padStart(3, '0')}`);
      const [dropped] = await Promise.all([
        JobIndex.prune(),
        ...fresh.map((jobId) => JobIndex.record(entry({ jobId, createdAt: at(0) }))),
      ]);
      expect(dropped).to.equal(1);
      expect(ids(await all())).to.have.members(fresh.map((jobId) => toEighteen(jobId)));
    });

    it('lists the entries of one run', async () => {
      await JobIndex.record(entry({ jobId: '7505g00000RuN01', runId: 'run-a', createdAt: at(0) }));
      await JobIndex.record(entry({ jobId: '7505g00000RuN02', runId: 'run-b', createdAt: at(0) }));
      await JobIndex.record(entry({ jobId: '7505g00000RuN03', runId: 'run-a', createdAt: at(0) }));
      expect(ids(await all({ runId: 'run-a' }))).to.deep.equal([
        toEighteen('7505g00000RuN01'),
        toEighteen('7505g00000RuN03'),
      ]);
    });
  });
});
