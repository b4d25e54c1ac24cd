/*
 * The verify query job against a scripted server: results followed page by page through
 * Sforce-Locator until the literal `null`, each page on disk with its header, a page that fails
 * with a 5xx fetched again, and pages that add up to fewer rows than the job processed refused.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { connectionTo } from '../engine/runScaffold.js';
import { OrgQuery, queryRows } from '../../src/verify/orgQuery.js';

type Script = { pages: string[]; processed: number; failResultsOnce?: number };

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
      if (failures > 0) {
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
    return json(200, { id: '750Q', state: 'JobComplete', numberRecordsProcessed: script.processed });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('OrgQuery', () => {
  let dir: string;
  let closeServer: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verify-query-'));
  });

  afterEach(async () => {
    await closeServer?.();
    await rm(dir, { recursive: true, force: true });
  });

  async function queryOf(script: Script): Promise<{ query: OrgQuery; seen: string[] }> {
    const server = await serve(script);
    closeServer = server.close;
    const connection = await connectionTo({
      accessToken: '00D!token',
      instanceUrl: server.url,
      username: 'query@test.org',
      orgId: '00D000000000001AAA',
    });
    const query = new OrgQuery(connection, {
      pollInitialMs: 1,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    return { query, seen: server.seen };
  }

  it('follows Sforce-Locator page by page until null, each page on disk with its header', async () => {
    const { query, seen } = await queryOf({
      pages: ['"Id"\n"001A"\n"001B"\n', '"Id"\n"001C"\n', '"Id"\n"001D"\n'],
      processed: 4,
      failResultsOnce: 1,
    });
    const result = await query.toFiles('SELECT Id FROM Account', join(dir, 'q'));
    expect(result.records).to.equal(4);
    expect(result.files).to.have.length(3);
    expect(await readFile(result.files[1], 'utf8')).to.equal('"Id"\n"001C"\n');
    const rows: string[] = [];
    for await (const row of queryRows(result)) rows.push(row.Id);
    expect(rows).to.deep.equal(['001A', '001B', '001C', '001D']);
    const results = seen.filter((line) => line.includes('/results'));
    // the first try of the first page was answered 503 and sent again
    expect(results).to.deep.equal([
      'GET /services/data/v62.0/jobs/query/750Q/results',
      'GET /services/data/v62.0/jobs/query/750Q/results',
      'GET /services/data/v62.0/jobs/query/750Q/results?locator=1',
      'GET /services/data/v62.0/jobs/query/750Q/results?locator=2',
    ]);
    expect(seen.at(-1)).to.equal('DELETE /services/data/v62.0/jobs/query/750Q');
  });

  it('refuses pages that hold fewer rows than the job processed', async () => {
    const { query } = await queryOf({ pages: ['"Id"\n"001A"\n'], processed: 2 });
    const error = await query.toFiles('SELECT Id FROM Account', join(dir, 'q')).then(
      () => undefined,
      (e: unknown) => e as Error & { data?: { errorCode?: string } },
    );
    expect(error?.message).to.include('QUERY_RESULTS_INCOMPLETE');
  });
});
