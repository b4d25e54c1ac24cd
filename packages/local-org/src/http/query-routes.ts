import { ApiError, notFound } from '../api-error.js';
import { makeId } from '../ids.js';
import type { QueryJobs } from '../query-jobs.js';
import { aggregateRow, renderRecord, runSoql, type QueryResult } from '../soql.js';
import type { RecordStore } from '../store.js';
import { columnMetadata, createdQueryJobInfo, listedQueryJob, listPage, queryJobInfo } from './documents.js';
import {
  json,
  limitHeader,
  noContent,
  readJson,
  responseDropped,
  type ApiRequest,
  type CountRoute,
  type Exchange,
} from './exchange.js';

const QUERY_PAGE = 2000;

type Cursor = { result: QueryResult; version: string; position: number };

/** Queries: the REST query and queryAll resources with their cursors, and Bulk API 2.0 query jobs. */
export class QueryRoutes {
  private readonly cursors = new Map<string, Cursor>();
  private cursorSerial = 0;

  public constructor(
    private readonly store: RecordStore,
    private readonly queryJobs: QueryJobs,
    private readonly count: CountRoute,
  ) {}

  /** GET …/query?q= and …/queryAll?q=, and their next pages; false for any other shape of path. */
  public rest({ x, parts, version, query }: ApiRequest): boolean {
    const [a, b] = parts;
    if (parts.length === 1) {
      this.count(`GET ${a}`);
      const q = query.get('q');
      if (!q) throw new ApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
      if (query.get('columns') === 'true') json(x, 200, columnMetadata(runSoql(this.store, q, false)));
      else json(x, 200, this.queryPage(runSoql(this.store, q, a === 'queryAll'), version, 0));
      return true;
    }
    if (parts.length === 2) {
      this.count(`GET ${a}/:locator`);
      const cursor = this.cursors.get(b.replace(/-\d+$/, ''));
      if (!cursor) throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
      const position = Number(b.replace(/^.*-/, ''));
      json(x, 200, this.queryPage(cursor.result, cursor.version, position, b.replace(/-\d+$/, '')));
      return true;
    }
    return false;
  }

  /** …/jobs/query and below; `parts` is the path after jobs/query. */
  public async jobs({ x, method, parts, version, query, userId }: ApiRequest): Promise<void> {
    const { queryJobs } = this;
    const route = (name: string): void => this.count(`${method} jobs/query${name}`);
    if (parts.length === 0) {
      route('');
      if (method === 'POST') {
        return json(x, 200, createdQueryJobInfo(queryJobs.create(await readJson(x.req), Number(version), userId)));
      }
      if (method === 'GET') {
        const all = [...queryJobs.jobs.values()].map((j) => listedQueryJob(j));
        return json(x, 200, listPage(all, 'query', version, query));
      }
      throw notFound();
    }
    const job = queryJobs.get(parts[0]);
    if (parts.length === 1) {
      route('/:id');
      if (method === 'GET') return json(x, 200, queryJobInfo(job));
      if (method === 'PATCH')
        return json(x, 200, createdQueryJobInfo(queryJobs.abort(job, (await readJson(x.req)).state)));
      if (method === 'DELETE') {
        await queryJobs.delete(job);
        return noContent(x);
      }
      throw notFound();
    }
    if (parts.length === 2 && parts[1] === 'results' && method === 'GET') {
      route('/:id/results');
      return this.sendResults(x, job, query);
    }
    route('/:id/unknown');
    throw notFound();
  }

  private async sendResults(x: Exchange, job: ReturnType<QueryJobs['get']>, query: URLSearchParams): Promise<void> {
    const max = query.get('maxRecords');
    const page = await this.queryJobs.page(job, query.get('locator'), max ? Number(max) : undefined);
    if (responseDropped(x)) return;
    x.res.writeHead(200, {
      'Content-Type': 'text/csv',
      'Sforce-NumberOfRecords': String(page.records),
      'Sforce-Locator': page.next,
      ...limitHeader(x),
    });
    if (typeof page.body === 'string') return void x.res.end(page.body);
    x.res.write(job.headerLine);
    page.body.pipe(x.res);
  }

  private queryPage(
    result: QueryResult,
    version: string,
    position: number,
    cursorId?: string,
  ): Record<string, unknown> {
    if (result.aggregates.length) return { totalSize: 1, done: true, records: [aggregateRow(this.store, result)] };
    if (result.count) return { totalSize: result.totalSize, done: true, records: [] };
    const end = Math.min(result.records.length, position + QUERY_PAGE);
    const records = result.records.slice(position, end).map((r) => renderRecord(this.store, result, r, version));
    const done = end >= result.records.length;
    let id = cursorId;
    if (!done && !id) {
      this.cursorSerial += 1;
      id = makeId('01g', 'Lo0', this.cursorSerial);
      this.cursors.set(id, { result, version, position: end });
    }
    if (done && id) this.cursors.delete(id);
    const next = done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${String(id)}-${end}` };
    return { totalSize: result.records.length, done, ...next, records };
  }
}
