/*
 * Through the user's proxy: the real commands against the loopback local org with HTTP_PROXY set to a
 * loopback forward proxy (test/helpers/forwardProxy.ts) and NO_PROXY set empty, so nothing exempts
 * 127.0.0.1. The proxy logs every request line it receives; the local org counts every request it
 * receives. A command passes when the two counts are equal and every proxied line was forwarded to
 * the org: every exchange of the command went through the proxy (before the org door, the streamed
 * uploads and result downloads went around it). With NO_PROXY naming the org, nothing goes through
 * the proxy. Also: the concurrent-request limit of an org
 * (ConcurrentPerOrgLongTxn) slows a run down but loads everything, with a warning in --json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forwardProxy.js';
import { useNutSession } from '../helpers/localOrg.js';

/** Every variable that could route (or exempt) a child's requests: the test sets its own. */
const PROXY_VARIABLES = ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY', 'all_proxy'];

function rows(n: number, row: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => row(i)).join('\n') + '\n';
}

describe('migrate through the user’s proxy', () => {
  const nut = useNutSession('proxy');
  let proxy: ForwardProxy;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    // The children's env starts from this process's: take every proxy setting out of it.
    for (const name of PROXY_VARIABLES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    proxy = await startForwardProxy();
  });

  after(async () => {
    for (const name of PROXY_VARIABLES) {
      if (saved[name] !== undefined) process.env[name] = saved[name];
    }
    await proxy?.stop();
  });

  beforeEach(() => nut.org.faults.clear());

  const throughProxy = (): Record<string, string> => ({ HTTP_PROXY: proxy.url, NO_PROXY: '' });

  function writeMigration(accounts: number, contacts: number, prefix: string): string {
    writeFileSync(
      join(nut.testDir, 'accounts.csv'),
      'Name,Legacy_Id__c\n' + rows(accounts, (i) => `${prefix} Account ${i},${prefix}-A-${i}`),
    );
    writeFileSync(
      join(nut.testDir, 'contacts.csv'),
      'LastName,Legacy_Id__c,Account.Legacy_Id__c\n' +
        rows(contacts, (i) => `${prefix} Contact ${i},${prefix}-C-${i},${prefix}-A-${i % accounts}`),
    );
    const manifest = join(nut.testDir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: `proxy-${prefix}`,
        defaults: { maxRecordsPerJob: 40, poll: { initial: '50ms', max: '200ms' } },
        steps: [
          { object: 'Account', source: 'accounts.csv', operation: 'upsert', externalIdField: 'Legacy_Id__c' },
          { object: 'Contact', source: 'contacts.csv', operation: 'upsert', externalIdField: 'Legacy_Id__c' },
        ],
      }),
    );
    return manifest;
  }

  /** Runs `command` with HTTP_PROXY set; returns what the proxy and the org each saw of it. */
  async function measured<T>(
    command: string,
    noProxy = '',
  ): Promise<{ output: T | undefined; warnings: string[]; proxied: ForwardProxy['log']; orgRequests: number }> {
    const orgBefore = nut.org.stats().requests;
    const proxiedBefore = proxy.log.length;
    const result = await nut.sf<T>(command, { env: { ...throughProxy(), NO_PROXY: noProxy } });
    const json = result.jsonOutput as ({ result?: T; warnings?: unknown[] } & object) | undefined;
    return {
      output: json?.result,
      warnings: (json?.warnings ?? []).map(String),
      proxied: proxy.log.slice(proxiedBefore),
      orgRequests: nut.org.stats().requests - orgBefore,
    };
  }

  function expectAllThroughProxy(proxied: ForwardProxy['log'], orgRequests: number): void {
    expect(orgRequests, 'requests the org received').to.be.greaterThan(0);
    expect(
      proxied.filter((line) => !line.forwarded),
      'lines the proxy refused',
    ).to.deep.equal([]);
    expect(
      proxied.filter((line) => !line.target.startsWith(`${nut.org.instanceUrl}/`)),
      'lines for another host',
    ).to.deep.equal([]);
    expect(proxied.length, 'requests through the proxy = requests the org received').to.equal(orgRequests);
  }

  it('runs a migration whose every request, uploads and result downloads included, goes through HTTP_PROXY', async () => {
    const manifest = writeMigration(100, 120, 'P');
    const { output, proxied, orgRequests } = await measured<RunResult>(
      `migrate run --manifest ${manifest} --target-org local --json`,
    );
    expect(output?.status).to.equal('succeeded');
    expectAllThroughProxy(proxied, orgRequests);
    const paths = proxied.map((line) => `${line.method} ${new URL(line.target).pathname}`);
    // 3 + 3 jobs: each one's streamed upload and its streamed successful results (the failed and
    // unprocessed results of a clean job are proven empty by its counts and not downloaded)
    expect(paths.filter((p) => /^PUT .*\/jobs\/ingest\/\w+\/batches$/.test(p))).to.have.length(6);
    expect(
      paths.filter((p) => /^GET .*\/(successfulResults|failedResults|unprocessedrecords)$/.test(p)),
    ).to.have.length(6);
    expect(nut.org.store.records('Contact').filter((r) => String(r.Legacy_Id__c).startsWith('P-'))).to.have.length(120);
  });

  it('sends the preflight of validate --target-org (limits, describes) through HTTP_PROXY', async () => {
    const manifest = writeMigration(5, 5, 'V');
    const { proxied, orgRequests } = await measured(
      `migrate validate --manifest ${manifest} --target-org local --json`,
    );
    expectAllThroughProxy(proxied, orgRequests);
    const paths = proxied.map((line) => new URL(line.target).pathname);
    expect(paths.some((p) => p.endsWith('/limits'))).to.equal(true);
    expect(paths.some((p) => p.endsWith('/sobjects/Contact/describe'))).to.equal(true);
  });

  it('goes straight to the org when NO_PROXY names it', async () => {
    const manifest = writeMigration(10, 10, 'N');
    const { output, proxied, orgRequests } = await measured<RunResult>(
      `migrate run --manifest ${manifest} --target-org local --json`,
      'localhost,127.0.0.1',
    );
    expect(output?.status).to.equal('succeeded');
    expect(orgRequests).to.be.greaterThan(0);
    expect(proxied).to.deep.equal([]);
  });

  it('waits out ConcurrentPerOrgLongTxn refusals, loads every record once, and warns in --json', async () => {
    // about one request in eight refused: a few waits of several seconds each
    nut.org.faults.set({ seed: 5, concurrentLimitRate: 0.12 });
    const manifest = writeMigration(40, 40, 'L');
    const { output, warnings, proxied, orgRequests } = await measured<RunResult>(
      `migrate run --manifest ${manifest} --target-org local --json`,
    );
    nut.org.faults.clear();
    expect(output?.status).to.equal('succeeded');
    expect(nut.org.stats().byRoute['concurrent limit']).to.be.greaterThan(0);
    expect(warnings.some((w) => w.includes('ConcurrentPerOrgLongTxn'))).to.equal(true);
    for (const object of ['Account', 'Contact']) {
      const loaded = nut.org.store
        .records(object)
        .map((record) => String(record.Legacy_Id__c))
        .filter((id) => id.startsWith('L-'));
      expect(loaded, object).to.have.length(40);
      expect(new Set(loaded).size, `${object} duplicates`).to.equal(40);
    }
    expectAllThroughProxy(proxied, orgRequests);
  });
});
