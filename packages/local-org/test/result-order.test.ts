/* eslint-disable no-await-in-loop -- a bare client polls one job at a time */
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg, type LocalOrgOptions } from '../src/index.js';

const V = '/services/data/v62.0';

/** Inserts `names` as Accounts in one job; returns the Name cell of each success line, in file order. */
async function insertNames(org: LocalOrg, names: string[]): Promise<string[]> {
  const call = (method: string, path: string, body?: string, type = 'application/json'): Promise<Response> =>
    fetch(`${org.instanceUrl}${V}${path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': type },
    });
  const job = (await (await call('POST', '/jobs/ingest', '{"object":"Account","operation":"insert"}')).json()) as {
    id: string;
  };
  await call('PUT', `/jobs/ingest/${job.id}/batches`, `Name\n${names.join('\n')}\n`, 'text/csv');
  await call('PATCH', `/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}');
  for (;;) {
    const info = (await (await call('GET', `/jobs/ingest/${job.id}`)).json()) as { state: string };
    if (info.state === 'JobComplete') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const text = await (await call('GET', `/jobs/ingest/${job.id}/successfulResults`)).text();
  return text
    .split('\n')
    .slice(1, -1)
    .map((line) => /"([^"]*)"$/.exec(line)![1]);
}

async function withOrg<T>(options: LocalOrgOptions, use: (org: LocalOrg) => Promise<T>): Promise<T> {
  const org = await startLocalOrg(options);
  try {
    return await use(org);
  } finally {
    await org.stop();
  }
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `Row ${i}`);

describe('local org: the order of result rows', () => {
  it('is shuffled by default, and the same seed gives the same order', async () => {
    const first = await withOrg({}, (org) => insertNames(org, names(300)));
    const again = await withOrg({ resultSeed: 1 }, (org) => insertNames(org, names(300)));
    const other = await withOrg({ resultSeed: 2 }, (org) => insertNames(org, names(300)));
    expect(first).to.have.members(names(300));
    expect(first).to.not.deep.equal(names(300));
    expect(again).to.deep.equal(first);
    expect(other).to.have.members(names(300));
    expect(other).to.not.deep.equal(first);
  });

  it('keeps upload order when asked', async () => {
    expect(await withOrg({ resultOrder: 'upload' }, (org) => insertNames(org, names(300)))).to.deep.equal(names(300));
  });

  it('shuffles within an internal batch: the first 10,000 lines are the first batch', async () => {
    const lines = await withOrg({}, (org) => insertNames(org, names(10_005)));
    expect(lines.slice(0, 10_000)).to.have.members(names(10_000));
    expect(lines.slice(10_000)).to.have.members(names(10_005).slice(10_000));
  });
});
