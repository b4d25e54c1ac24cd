/*
 * Issue 10.7: resume and retry act on the run's own org. The CLI's logins are stood in for by an
 * opener that knows two orgs by alias and username; the run folder's summary names the run's org.
 */
import { expect } from 'chai';
import type { Org, SfError } from '@salesforce/core';
import { orgOfRun, type OrgOpener } from '../../src/engine/runOrg.js';
import { resumeCommand } from '../../src/engine/commandLines.js';
import type { RunSummary } from '../../src/journal/runFolder.js';

const PROD = { username: 'admin@prod.example', orgId: '00D000000000001AAA', alias: 'prod' };
const SANDBOX = { username: 'admin@sandbox.example', orgId: '00D000000000002AAA', alias: 'sandbox' };

function opener(defaultOrg?: typeof PROD): { open: OrgOpener; opened: Array<string | undefined> } {
  const opened: Array<string | undefined> = [];
  const open: OrgOpener = (aliasOrUsername) => {
    opened.push(aliasOrUsername);
    const found =
      aliasOrUsername === undefined
        ? defaultOrg
        : [PROD, SANDBOX].find((org) => org.alias === aliasOrUsername || org.username === aliasOrUsername);
    if (!found) return Promise.reject(new Error(`No authorization information found for ${String(aliasOrUsername)}.`));
    return Promise.resolve({ getOrgId: () => found.orgId, getUsername: () => found.username } as unknown as Org);
  };
  return { open, opened };
}

const runIn = (org?: typeof PROD): RunSummary => ({
  runId: '20261129-120000-ab12',
  dir: '/srv/runs/20261129-120000-ab12',
  finished: false,
  manifest: '/srv/migration.json',
  ...(org ? { username: org.username, orgId: org.orgId.slice(0, 15) } : {}),
});

const command = (targetOrg?: string): string =>
  resumeCommand('/srv/migration.json', '20261129-120000-ab12', targetOrg ? { targetOrg } : {});

async function refusal(promise: Promise<unknown>): Promise<SfError> {
  try {
    await promise;
  } catch (error) {
    return error as SfError;
  }
  expect.fail('expected a refusal');
}

describe('orgOfRun (issue 10.7)', () => {
  it("uses the run's own org when --target-org is not given, never the default org", async () => {
    const { open, opened } = opener(SANDBOX);
    const org = await orgOfRun(runIn(PROD), { command, open });
    expect(org.getOrgId()).to.equal(PROD.orgId);
    expect(opened).to.deep.equal([PROD.username]);
  });

  it("accepts a --target-org that is the run's org (by alias; 15- or 18-character ids alike)", async () => {
    const { open } = opener();
    const org = await orgOfRun(runIn(PROD), { targetOrg: 'prod', command, open });
    expect(org.getUsername()).to.equal(PROD.username);
  });

  it("refuses a --target-org that is not the run's org, naming the command without it", async () => {
    const { open } = opener();
    const error = await refusal(orgOfRun(runIn(PROD), { targetOrg: 'sandbox', command, open }));
    expect(error.name).to.equal('TargetOrgNotRunOrgError');
    expect(error.message).to.include(PROD.username).and.include(SANDBOX.username);
    expect(error.actions).to.have.length(1);
    const advised = 'sf migrate resume --manifest /srv/migration.json --run-id 20261129-120000-ab12';
    expect(error.actions![0].endsWith(`: ${advised}`), error.actions![0]).to.equal(true);
  });

  it("says so when the run's org is not among the CLI's logins", async () => {
    const { open } = opener();
    const elsewhere = { username: 'admin@gone.example', orgId: '00D000000000003AAA', alias: 'gone' };
    const error = await refusal(orgOfRun(runIn(elsewhere), { command, open }));
    expect(error.name).to.equal('RunOrgNotAvailableError');
    expect(error.message).to.include('admin@gone.example');
    expect(error.actions![0]).to.include('--target-org');
  });

  it('falls back to --target-org, then the default org, only for a run that names no org', async () => {
    expect((await orgOfRun(runIn(), { targetOrg: 'sandbox', command, open: opener().open })).getUsername()).to.equal(
      SANDBOX.username,
    );
    expect((await orgOfRun(runIn(), { command, open: opener(PROD).open })).getUsername()).to.equal(PROD.username);
    const error = await refusal(orgOfRun(runIn(), { command, open: opener().open }));
    expect(error.name).to.equal('RunOrgUnknownError');
    expect(error.actions![0]).to.include('--target-org');
  });
});
