import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import type { QueryJobInfo } from '../../src/bulk/queryJobClient.js';
import { toStoredEvent } from '../../src/journal/eventCodec.js';
import type { JournalEvent, JournalEventBody } from '../../src/journal/events.js';
import { lookupSnapshotsOf } from '../../src/journal/lookupState.js';
import { applyEvent, emptyRunState, type RunState } from '../../src/journal/state.js';
import type { Lookup } from '../../src/manifest/types.js';
import { isReject, type RowReject, type RowStage } from '../../src/prepare/stage.js';
import {
  ensureLookupSnapshots,
  type EnsureLookupSnapshotsOptions,
  type SnapshotQueries,
} from '../../src/lookup/snapshots.js';
import { lookupStages, openLookups, type OpenedLookups } from '../../src/lookup/stages.js';
import { lookupStagesForStep } from '../../src/lookup/forStep.js';

const USERS = [
  '"Id","Email","IsActive"',
  '"005000000000001AAA","ann@acme.com","true"',
  '"005000000000002AAA","bob@acme.com","false"',
  '"005000000000003AAA","twin@acme.com","true"',
  '"005000000000004AAA","twin@acme.com","true"',
  '"005000000000009AAA","owner@acme.com","true"',
].join('\n');

/** a stand-in for the query client: the users above, counting the jobs it creates */
function fakeQueries(body = USERS): SnapshotQueries & { created: string[] } {
  const created: string[] = [];
  const info = (state: QueryJobInfo['state']): QueryJobInfo => ({
    id: '750000000000001AAA',
    operation: 'query',
    object: 'User',
    state,
    numberRecordsProcessed: body.split('\n').length - 1,
  });
  return {
    created,
    create: (request): Promise<QueryJobInfo> => {
      created.push(request.query);
      return Promise.resolve(info('UploadComplete'));
    },
    poll: (): Promise<QueryJobInfo> => Promise.resolve(info('JobComplete')),
    saveResults: async (_jobId, file): Promise<{ records: number; bytes: number; pages: number }> => {
      await writeFile(file, body + '\n');
      return { records: body.split('\n').length - 1, bytes: body.length + 1, pages: 1 };
    },
    delete: (): Promise<void> => Promise.resolve(),
  };
}

describe('lookup snapshots and stages', () => {
  let dir: string;
  let state: RunState;
  let journal: JournalEvent[];
  const record = (body: JournalEventBody): Promise<void> => {
    const event = toStoredEvent(body, journal.length + 1, new Date(Date.now() - 60_000).toISOString());
    applyEvent(state, event);
    journal.push(event);
    return Promise.resolve();
  };
  const step = (lookups: Lookup[]): EnsureLookupSnapshotsOptions['step'] => ({
    id: 'contacts',
    object: 'Contact',
    lookups,
    poll: { initialMs: 1, maxMs: 1 },
  });
  const replayed = (): RunState => {
    const fresh = emptyRunState();
    for (const event of journal) applyEvent(fresh, event);
    return fresh;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookup-run-'));
    state = emptyRunState();
    journal = [];
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function stagesFor(lookups: Lookup[]): Promise<{ opened: OpenedLookups; stage: RowStage }> {
    const snapshots = await ensureLookupSnapshots({
      step: step(lookups),
      state,
      folder: { dir },
      record,
      queries: fakeQueries(),
    });
    const opened = await openLookups(step(lookups), snapshots, { spillDir: dir });
    const stages = lookupStages(opened);
    return { opened, stage: stages[0] };
  }

  it('fetches a snapshot once, journals it, and a resume reuses it without a query', async () => {
    const lookups: Lookup[] = [{ column: 'OwnerEmail', user: 'Email' }];
    const queries = fakeQueries();
    const first = await ensureLookupSnapshots({ step: step(lookups), state, folder: { dir }, record, queries });
    expect(queries.created).to.deep.equal(['SELECT Id, Email, IsActive FROM User']);
    expect(journal.map((e) => e.type)).to.deep.equal(['lookup.snapshot']);
    const [snapshot] = [...first.values()];
    expect(snapshot).to.include({ object: 'User', records: 5 });
    expect(lookupSnapshotsOf(state).get(snapshot.lookup)?.sha256).to.equal(snapshot.sha256);

    const again = fakeQueries();
    const resumed = await ensureLookupSnapshots({
      step: step(lookups),
      state: replayed(),
      folder: { dir },
      record,
      queries: again,
    });
    expect(again.created).to.deep.equal([]);
    expect([...resumed.values()][0]).to.deep.equal(snapshot);
  });

  it('fetches a lookup two steps of one wave share once, when both start at the same time', async () => {
    const queries = fakeQueries();
    const lookups: Lookup[] = [{ column: 'OwnerEmail', user: 'Email' }];
    const both = await Promise.all([
      ensureLookupSnapshots({ step: step(lookups), state, folder: { dir }, record, queries }),
      ensureLookupSnapshots({
        step: { ...step(lookups), id: 'leads', object: 'Lead' },
        state,
        folder: { dir },
        record,
        queries,
      }),
    ]);
    expect(queries.created).to.have.length(1);
    expect(journal).to.have.length(1);
    expect([...both[0].values()]).to.deep.equal([...both[1].values()]);
  });

  it('gives a step its stages in one call, and none to a step without lookups', async () => {
    const lookups: Lookup[] = [
      { column: 'OwnerEmail', user: 'Email' },
      { column: 'Assignee', user: 'Email', field: 'Assignee__c', onMissing: 'empty' },
    ];
    const queries = fakeQueries();
    const forStep = await lookupStagesForStep({ step: step(lookups), state, folder: { dir }, record, queries });
    try {
      expect(queries.created).to.have.length(1);
      let columns = ['OwnerEmail', 'Assignee'];
      for (const stage of forStep.stages) columns = stage.columns(columns);
      expect(columns).to.deep.equal(['OwnerId', 'Assignee__c']);
      let row: string[] = ['ann@acme.com', 'nobody@acme.com'];
      // eslint-disable-next-line no-await-in-loop -- stages run in order
      for (const stage of forStep.stages) row = (await stage.apply(row)) as string[];
      expect(row).to.deep.equal(['005000000000001AAA', '']);
    } finally {
      await forStep.close();
    }
    const none = await lookupStagesForStep({ step: step([]), state, folder: { dir }, record, queries });
    expect(none.stages).to.deep.equal([]);
  });

  it('stops the step when the org fails the query', async () => {
    const queries = fakeQueries();
    queries.poll = (): Promise<QueryJobInfo> =>
      Promise.resolve({
        id: '750000000000001AAA',
        operation: 'query',
        object: 'User',
        state: 'Failed',
        errorMessage: 'boom',
      });
    try {
      await ensureLookupSnapshots({
        step: step([{ column: 'OwnerEmail', user: 'Email' }]),
        state,
        folder: { dir },
        record,
        queries,
      });
      expect.fail('a failed query job must stop the step');
    } catch (error) {
      expect((error as SfError).name).to.equal('LookupQueryFailedError');
      expect((error as SfError).message)
        .to.include('Failed')
        .and.include('boom');
    }
    expect(journal).to.deep.equal([]);
  });

  it('refuses a resume whose snapshot file changed or is gone', async () => {
    const lookups: Lookup[] = [{ column: 'OwnerEmail', user: 'Email' }];
    const [snapshot] = [
      ...(
        await ensureLookupSnapshots({ step: step(lookups), state, folder: { dir }, record, queries: fakeQueries() })
      ).values(),
    ];
    await appendFile(snapshot.file, '"005000000000005AAA","eve@acme.com","true"\n');
    const resume = (): Promise<unknown> =>
      ensureLookupSnapshots({
        step: step(lookups),
        state: replayed(),
        folder: { dir },
        record,
        queries: fakeQueries(),
      });
    try {
      await resume();
      expect.fail('a changed snapshot must stop the resume');
    } catch (error) {
      expect(error).to.be.instanceOf(SfError);
      expect((error as SfError).name).to.equal('LookupSnapshotChangedError');
      expect((error as SfError).message).to.include('changed');
    }
    await rm(snapshot.file);
    try {
      await resume();
      expect.fail('a missing snapshot must stop the resume');
    } catch (error) {
      expect((error as SfError).name).to.equal('LookupSnapshotChangedError');
      expect((error as SfError).message).to.include('missing');
    }
  });

  it('fetches again after a crash between the durable file and its journal line', async () => {
    const lookups: Lookup[] = [{ column: 'OwnerEmail', user: 'Email' }];
    const crashing = (): Promise<void> => Promise.reject(new Error('killed before the line'));
    try {
      await ensureLookupSnapshots({
        step: step(lookups),
        state,
        folder: { dir },
        record: crashing,
        queries: fakeQueries(),
      });
      expect.fail('the crash stops the call');
    } catch (error) {
      expect((error as Error).message).to.equal('killed before the line');
    }
    expect(lookupSnapshotsOf(state).size).to.equal(0);
    const queries = fakeQueries();
    await ensureLookupSnapshots({ step: step(lookups), state, folder: { dir }, record, queries });
    expect(queries.created).to.have.length(1);
    expect(journal).to.have.length(1);
  });

  it('refuses a journal with two snapshots of one lookup', async () => {
    await ensureLookupSnapshots({
      step: step([{ column: 'OwnerEmail', user: 'Email' }]),
      state,
      folder: { dir },
      record,
      queries: fakeQueries(),
    });
    const twice = toStoredEvent(journal[0], 2, new Date().toISOString());
    expect(() => applyEvent(state, twice)).to.throw(/twice/);
  });

  it('replaces the key column with the Id, and rejects unknown and ambiguous keys with their codes', async () => {
    const { opened, stage } = await stagesFor([{ column: 'OwnerEmail', user: 'Email' }]);
    try {
      expect(stage.columns(['LastName', 'OwnerEmail'])).to.deep.equal(['LastName', 'OwnerId']);
      expect(await stage.apply(['Ng', 'ANN@acme.com'])).to.deep.equal(['Ng', '005000000000001AAA']);
      expect(await stage.apply(['Ng', ''])).to.deep.equal(['Ng', '']);
      const missing = (await stage.apply(['Ng', 'x@y'])) as RowReject;
      expect(missing).to.deep.equal({
        code: 'LOOKUP_NOT_FOUND',
        message: 'no User with Email x@y (column OwnerEmail)',
      });
      const twin = (await stage.apply(['Ng', 'twin@acme.com'])) as RowReject;
      expect(twin.code).to.equal('LOOKUP_AMBIGUOUS');
      expect(twin.message).to.match(/^2 records match: User with Email twin@acme.com \(column OwnerEmail\)/);
    } finally {
      await opened.close();
    }
  });

  it('applies the inactive-user policy: fail, default owner, keep', async () => {
    const cases: Array<[Lookup, string[] | string]> = [
      [{ column: 'OwnerEmail', user: 'Email' }, 'USER_INACTIVE'],
      [{ column: 'OwnerEmail', user: 'Email', inactive: 'default', default: 'owner@acme.com' }, ['005000000000009AAA']],
      [{ column: 'OwnerEmail', user: 'Email', inactive: 'keep' }, ['005000000000002AAA']],
    ];
    for (const [lookup, expected] of cases) {
      state = emptyRunState();
      // eslint-disable-next-line no-await-in-loop
      const { opened, stage } = await stagesFor([lookup]);
      try {
        stage.columns(['OwnerEmail']);
        // eslint-disable-next-line no-await-in-loop
        const out = await stage.apply(['bob@acme.com']);
        if (typeof expected === 'string') {
          expect(isReject(out) && out.code).to.equal(expected);
          expect(isReject(out) && out.message).to.equal(
            'the User with Email bob@acme.com is inactive (column OwnerEmail)',
          );
        } else expect(out).to.deep.equal(expected);
      } finally {
        // eslint-disable-next-line no-await-in-loop
        await opened.close();
      }
    }
  });

  it('gives unmatched keys the default owner, or leaves them empty', async () => {
    const withDefault = await stagesFor([{ column: 'OwnerEmail', user: 'Email', default: 'OWNER@acme.com' }]);
    withDefault.stage.columns(['OwnerEmail']);
    expect(await withDefault.stage.apply(['nobody@acme.com'])).to.deep.equal(['005000000000009AAA']);
    await withDefault.opened.close();
    state = emptyRunState();
    const empty = await stagesFor([{ column: 'OwnerEmail', user: 'Email', onMissing: 'empty' }]);
    empty.stage.columns(['OwnerEmail']);
    expect(await empty.stage.apply(['nobody@acme.com'])).to.deep.equal(['']);
    await empty.opened.close();
  });

  it('refuses a default owner that is unknown, shared or inactive', async () => {
    for (const owner of ['nobody@acme.com', 'twin@acme.com', 'bob@acme.com']) {
      state = emptyRunState();
      try {
        // eslint-disable-next-line no-await-in-loop
        await stagesFor([{ column: 'OwnerEmail', user: 'Email', default: owner }]);
        expect.fail(`the default ${owner} must be refused`);
      } catch (error) {
        expect((error as SfError).name).to.equal('LookupDefaultUnresolvedError');
        expect((error as SfError).message).to.include(owner);
      }
    }
  });

  it('refuses a header without the key column', async () => {
    const { opened, stage } = await stagesFor([{ column: 'OwnerEmail', user: 'Email' }]);
    try {
      expect(() => stage.columns(['LastName'])).to.throw(/OwnerEmail/);
    } finally {
      await opened.close();
    }
  });
});
