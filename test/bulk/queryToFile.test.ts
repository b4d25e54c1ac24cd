/*
 * QueryJobClient.queryToFile against a scripted server: results followed page by page through
 * Sforce-Locator until the literal `null`, joined into one file with the header once, a page that
 * fails with a 5xx fetched again, pages that add up to fewer rows than the job processed refused,
 * a failed job refused, and the job deleted whatever happened.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { connectionTo } from '../engine/runScaffold.js';
import { QueryJobClient } from '../../src/bulk/queryJobClient.js';

type Script = { pages: string[]; processed: number; failResultsOnce?: number; state?: string };

async function serve(script: Script): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  let failures = script.failResultsOnce ?? 0;
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method ?? ''} ${url.pathname}${url.search}`);
    req.resume();
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST') return json(200, { id: '750Q', state: 'UploadComplete' });
    if (req.method === 'DELETE') return void res.writeHead(204).end();
    if (url.pathname.endsWith('/results')) {
      // the second page fails first: it is asked for again from the same locator
      if (failures > 0 && url.searchParams.get('locator') === '1') {
        failures--;
        return json(503, [{ errorCode: 'SERVER_UNAVAILABLE', message: 'try again' }]);
      }
      const at = Number(url.searchParams.get('locator') ?? '0');
      const next = at + 1 < script.pages.length ? String(at + 1) : 'null';
      const body = script.pages[at];
      res.writeHead(200, {
        'content-type': 'text/csv',
        'sforce-locator': next,
        'sforce-numberofrecords': String(body.trim().split('\n').length - 1),
      });
      return void res.end(body);
    }
    return json(200, { id: '750Q', state: script.state ?? 'JobComplete', numberRecordsProcessed: script.processed });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('QueryJobClient.queryToFile', () => {
  let dir: string;
  let closeServer: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'query-to-file-'));
  });

  afterEach(async () => {
    await closeServer?.();
    await rm(dir, { recursive: true, force: true });
  });

  const poll = { initialMs: 1, maxMs: 2 };

  async function queryOf(script: Script): Promise<{ client: QueryJobClient; seen: string[] }> {
    const server = await serve(script);
    closeServer = server.close;
    const connection = await connectionTo({
      accessToken: '00D!token',
      instanceUrl: server.url,
      username: 'query@test.org',
      orgId: '00D000000000001AAA',
    });
    const client = new QueryJobClient(connection, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    return { client, seen: server.seen };
  }

  it('follows Sforce-Locator page by page until null into one file, the header once', async () => {
    const { client, seen } = await queryOf({
      pages: ['"Id"\n"001A"\n"001B"\n', '"Id"\n"001C"\n', '"Id"\n"001D"\n'],
      processed: 4,
      failResultsOnce: 1,
    });
    const file = join(dir, 'q', 'all.csv');
    const result = await client.queryToFile('SELECT Id FROM Account', file, { poll });
    expect(result).to.include({ records: 4, pages: 3 });
    expect(await readFile(file, 'utf8')).to.equal('"Id"\n"001A"\n"001B"\n"001C"\n"001D"\n');
    expect(seen.find((line) => line.includes('/jobs/'))).to.equal('POST /services/data/v62.0/jobs/query');
    const results = seen.filter((line) => line.includes('/results'));
    // the first try of the second page was answered 503 and sent again
    expect(results).to.deep.equal([
      'GET /services/data/v62.0/jobs/query/750Q/results',
      'GET /services/data/v62.0/jobs/query/750Q/results?locator=1',
      'GET /services/data/v62.0/jobs/query/750Q/results?locator=1',
      'GET /services/data/v62.0/jobs/query/750Q/results?locator=2',
    ]);
    expect(seen.at(-1)).to.equal('DELETE /services/data/v62.0/jobs/query/750Q');
  });

  it('refuses pages that hold fewer rows than the job processed, leaves no file, deletes the job', async () => {
    const { client, seen } = await queryOf({ pages: ['"Id"\n"001A"\n'], processed: 2 });
    const file = join(dir, 'q', 'short.csv');
    const error = await client.queryToFile('SELECT Id FROM Account', file, { poll }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.include('QUERY_RESULTS_INCOMPLETE');
    expect(
      await access(file).then(
        () => 'present',
        () => 'absent',
      ),
    ).to.equal('absent');
    expect(seen.at(-1)).to.equal('DELETE /services/data/v62.0/jobs/query/750Q');
  });

  it('refuses a job that failed, without asking for results, and deletes it', async () => {
    const { client, seen } = await queryOf({ pages: [], processed: 0, state: 'Failed' });
    const error = await client.queryToFile('SELECT Id FROM Account', join(dir, 'q', 'f.csv'), { poll }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.include('QUERY_JOB_FAILED');
    expect(seen.filter((line) => line.includes('/results'))).to.deep.equal([]);
    expect(seen.at(-1)).to.equal('DELETE /services/data/v62.0/jobs/query/750Q');
  });
});
