/* eslint-disable camelcase -- OAuth and identity documents are snake_case on the wire */
/* eslint-disable no-param-reassign -- job records are the mutable state this server owns */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { faultSettingsProblems, type Faults, type FaultSettings } from './faults.js';
import { makeId } from './ids.js';
import { ApiError, type IngestJobs, notFound, type IngestJob } from './ingest.js';
import { QueryJobs, type QueryJob } from './query-jobs.js';
import { formatDateTime } from './rows.js';
import type { ObjectDescribe } from './schema.js';
import { renderRecord, runSoql, SoqlError, type QueryResult } from './soql.js';
import type { RecordStore, StoredRecord } from './store.js';

export const MAX_API_VERSION = 62;
const MIN_API_VERSION = 20;
const QUERY_PAGE = 2000;
const LIST_PAGE = 1000;

export type Identity = { orgId: string; userId: string; username: string; clientId: string; refreshToken: string };

export type ServerOptions = {
  store: RecordStore;
  faults: Faults;
  identity: Identity;
  ingest: IngestJobs;
  queryJobs: QueryJobs;
  dailyApiRequests: number;
};

type Session = { issuedAt: number; requests: number };

/** The per-request context: whether the response must be lost (a dropped connection after the work was done). */
type Exchange = { req: IncomingMessage; res: ServerResponse; dropResponse: boolean; limitInfo?: string };

const json = (x: Exchange, status: number, body: unknown): void => {
  if (x.dropResponse) {
    x.req.socket.destroy();
    return;
  }
  const text = JSON.stringify(body);
  x.res.writeHead(status, {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    ...(x.limitInfo ? { 'Sforce-Limit-Info': x.limitInfo } : {}),
  });
  x.res.end(text);
};

const apiError = (x: Exchange, status: number, errorCode: string, message: string): void => json(x, status, [{ errorCode, message }]);

function versionLabel(version: number): string {
  const offset = MAX_API_VERSION - version;
  const season = ['Winter', 'Summer', 'Spring'][((offset % 3) + 3) % 3];
  const year = 25 - Math.floor((offset + 2) / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new ApiError(400, 'JSON_PARSER_ERROR', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const body = JSON.parse(text || '{}') as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body as Record<string, unknown>;
  } catch (error) {
    throw new ApiError(400, 'JSON_PARSER_ERROR', `Unexpected character in the JSON request body: ${(error as Error).message}`);
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

class UploadDropped extends Error {}

/** The loopback Salesforce: routing, authentication, limits, faults, and the REST and Bulk API 2.0 resources. */
export class LocalOrgServer {
  public instanceUrl = '';
  public accessToken = '';
  public readonly stats = { requests: 0, byRoute: {} as Record<string, number> };
  private readonly sessions = new Map<string, Session>();
  private readonly issued = new Set<string>();
  private readonly usage = { api: 0, batches: 0, queryJobs: 0 };
  private readonly cursors = new Map<string, { result: QueryResult; version: string; position: number }>();
  private cursorSerial = 0;
  private readonly server: Server;

  public constructor(private readonly options: ServerOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'Content-Type': 'application/json;charset=UTF-8' });
          res.end(JSON.stringify([{ errorCode: 'UNKNOWN_EXCEPTION', message: (error as Error).message }]));
        } else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  public countBatch(): void {
    this.usage.batches += 1;
  }

  public countQueryJob(): void {
    this.usage.queryJobs += 1;
  }

  public async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.instanceUrl = `http://127.0.0.1:${address.port}`;
    this.accessToken = this.issueToken();
  }

  public async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  public issueToken(): string {
    const token = `${this.options.identity.orgId.slice(0, 15)}!${randomBytes(72).toString('base64').replace(/[+/=]/g, '').slice(0, 96)}`;
    this.sessions.set(token, { issuedAt: Date.now(), requests: 0 });
    this.issued.add(token);
    return token;
  }

  private count(route: string): void {
    this.stats.requests += 1;
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
  }

  /** Validates the bearer token, counting the request against its session. */
  private authenticate(req: IncomingMessage): boolean {
    const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const session = match ? this.sessions.get(match[1]) : undefined;
    if (!match || !session) return false;
    session.requests += 1;
    const expiry = this.options.faults.value.sessionExpiry;
    const expired =
      (expiry?.afterRequests !== undefined && session.requests > expiry.afterRequests) ||
      (expiry?.afterSeconds !== undefined && Date.now() - session.issuedAt > expiry.afterSeconds * 1000);
    if (expired) {
      this.sessions.delete(match[1]);
      return false;
    }
    return true;
  }

  // eslint-disable-next-line complexity -- one straight pipeline of gates, in the order a real org applies them
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The sf CLI keeps instanceUrl with a trailing slash, so jsforce asks for //services/...: tolerate both.
    // (Not new URL(req.url): it would read a leading // as a host name.)
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const url = { searchParams: new URLSearchParams(queryAt >= 0 ? target.slice(queryAt + 1) : '') };
    const path = decodeURIComponent(queryAt >= 0 ? target.slice(0, queryAt) : target).replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const x: Exchange = { req, res, dropResponse: false };
    const { faults } = this.options;
    // LOCAL_ORG_TRACE=1 logs every exchange to stderr: what a client really asked for, and the status it got.
    if (process.env.LOCAL_ORG_TRACE) res.once('finish', () => process.stderr.write(`local-org ${method} ${req.url ?? ''} -> ${res.statusCode}\n`));

    if (faults.value.latencyMs) await sleep(faults.value.latencyMs);

    if (path === '/services/data' && method === 'GET') {
      this.count('GET versions');
      const versions = [];
      for (let v = MIN_API_VERSION; v <= MAX_API_VERSION; v++) versions.push({ label: versionLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
      return json(x, 200, versions);
    }
    if (path === '/services/oauth2/token' && method === 'POST') {
      this.count('POST oauth2/token');
      return this.token(x, await readForm(req));
    }
    if (path === '/services/oauth2/revoke') {
      this.count(`${method} oauth2/revoke`);
      req.resume();
      return json(x, 200, {});
    }

    // Control surface of the local org itself (not a Salesforce resource): read or replace the fault
    // settings of a running org, e.g. one started by `sf migrate local-org start`, from another process.
    if (path === '/local-org/faults') {
      this.count(`${method} local-org/faults`);
      // Any token the org issued (expired ones included): faults must be switchable off even when they expire sessions.
      const bearer = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !this.issued.has(bearer)) return apiError(x, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      if (method === 'PUT') {
        let settings: unknown;
        try {
          settings = await readJson(req);
        } catch (error) {
          return apiError(x, 400, 'JSON_PARSER_ERROR', (error as Error).message);
        }
        const problems = faultSettingsProblems(settings);
        if (problems.length) return apiError(x, 400, 'INVALID_FAULTS', problems.join('; '));
        faults.set(settings as FaultSettings);
      } else if (method !== 'GET') return apiError(x, 405, 'METHOD_NOT_ALLOWED', 'Use GET or PUT');
      return json(x, 200, faults.current());
    }
    // Faults apply to API requests; the version list and the token endpoint stay reliable so a client can always re-authenticate.
    if (faults.chance(faults.value.dropConnectionRate)) {
      if (faults.draw() < 0.5) {
        this.count('dropped');
        req.socket.destroy();
        return;
      }
      x.dropResponse = true;
    }

    if (!this.authenticate(req)) {
      this.count('unauthorized');
      req.resume();
      return json(x, 401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }

    if (path === '/services/oauth2/userinfo') {
      this.count('GET oauth2/userinfo');
      return json(x, 200, this.userInfo());
    }
    const idMatch = /^\/id\/(\w+)\/(\w+)$/.exec(path);
    if (idMatch) {
      this.count('GET identity');
      if (idMatch[1] !== this.options.identity.orgId && idMatch[1] !== this.options.identity.orgId.slice(0, 15)) throw notFound();
      return json(x, 200, this.identityDocument());
    }

    const api = /^\/services\/data\/v(\d+\.\d)(?:\/(.*))?$/.exec(path);
    if (!api) {
      this.count('not found');
      req.resume();
      return apiError(x, 404, 'NOT_FOUND', 'The requested resource does not exist');
    }

    this.usage.api += 1;
    x.limitInfo = `api-usage=${this.usage.api}/${this.options.dailyApiRequests}`;
    if (faults.value.apiLimitExhausted === true || this.usage.api > this.options.dailyApiRequests) {
      this.count('limit exceeded');
      req.resume();
      return apiError(x, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    }
    if (faults.chance(faults.value.serverErrorRate)) {
      this.count('server error');
      req.resume();
      return faults.draw() < 0.5
        ? apiError(x, 500, 'UNKNOWN_EXCEPTION', `An unexpected error occurred. Please include this ErrorId if you contact support: ${randomBytes(4).readUInt32BE()}-${randomBytes(2).readUInt16BE()} (-${randomBytes(3).readUIntBE(0, 3)})`)
        : apiError(x, 503, 'SERVER_UNAVAILABLE', 'Service Unavailable: the server is temporarily unable to handle the request.');
    }

    const version = api[1];
    const versionNumber = Number(version);
    if (versionNumber < MIN_API_VERSION || versionNumber > 99) {
      this.count('not found');
      return apiError(x, 404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    try {
      await this.route(x, method, (api[2] ?? '').split('/').filter(Boolean), version, url.searchParams);
    } catch (error) {
      req.resume();
      if (error instanceof ApiError) return apiError(x, error.status, error.errorCode, error.message);
      if (error instanceof SoqlError) return apiError(x, 400, error.errorCode, error.message);
      throw error;
    }
  }

  // eslint-disable-next-line complexity
  private async route(x: Exchange, method: string, parts: string[], version: string, query: URLSearchParams): Promise<void> {
    const [a, b, c] = parts;
    const n = parts.length;
    const route = (name: string): void => this.count(`${method} ${name}`);
    if (n === 0 && method === 'GET') {
      route('resources');
      return json(x, 200, this.resources(version));
    }
    if (a === 'limits' && n === 1 && method === 'GET') {
      route('limits');
      return json(x, 200, this.limits());
    }
    if (a === 'sobjects') {
      if (n === 1 && method === 'GET') {
        route('sobjects');
        return json(x, 200, { encoding: 'UTF-8', maxBatchSize: 200, sobjects: this.options.store.all().map((s) => this.objectSummary(s.describe, version)) });
      }
      const object = this.options.store.object(b);
      if (!object) {
        route('sobjects/:object');
        throw notFound();
      }
      if (n === 2 && method === 'GET') {
        route('sobjects/:object');
        return json(x, 200, { objectDescribe: this.objectSummary(object.describe, version), recentItems: [] });
      }
      if (n === 3 && c === 'describe' && method === 'GET') {
        route('sobjects/:object/describe');
        return json(x, 200, { ...this.objectSummary(object.describe, version), fields: object.describe.fields.map(({ ...f }) => f), childRelationships: [], recordTypeInfos: [] });
      }
      if (n === 3 && method === 'GET') {
        route('sobjects/:object/:id');
        const record = object.records.get(c) ?? [...object.records.values()].find((r) => r.Id.slice(0, 15) === c);
        if (!record) throw notFound();
        return json(x, 200, this.recordJson(object.describe, record, version, query.get('fields')));
      }
    }
    if ((a === 'query' || a === 'queryAll') && method === 'GET') {
      if (n === 1) {
        route(a);
        const q = query.get('q');
        if (!q) throw new ApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
        if (query.get('columns') === 'true') return json(x, 200, columnMetadata(runSoql(this.options.store, q, false)));
        return json(x, 200, this.queryPage(runSoql(this.options.store, q, a === 'queryAll'), version, 0));
      }
      if (n === 2) {
        route(`${a}/:locator`);
        const cursor = this.cursors.get(b.replace(/-\d+$/, ''));
        if (!cursor) throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        const position = Number(b.replace(/^.*-/, ''));
        return json(x, 200, this.queryPage(cursor.result, cursor.version, position, b.replace(/-\d+$/, '')));
      }
    }
    if (a === 'jobs' && b === 'ingest') return this.ingestRoute(x, method, parts.slice(2), version, query);
    if (a === 'jobs' && b === 'query') return this.queryJobRoute(x, method, parts.slice(2), version, query);
    route('unknown');
    throw notFound();
  }

  private async ingestRoute(x: Exchange, method: string, parts: string[], version: string, query: URLSearchParams): Promise<void> {
    const { ingest } = this.options;
    const route = (name: string): void => this.count(`${method} jobs/ingest${name}`);
    if (parts.length === 0) {
      route('');
      if (method === 'POST') {
        const job = ingest.create(await readJson(x.req), Number(version));
        await ingest.save(job);
        return json(x, 200, createdJobInfo(job, version));
      }
      if (method === 'GET') return json(x, 200, this.listPage([...ingest.jobs.values()].map((j) => listedIngestJob(j, version)), 'ingest', version, query));
      throw notFound();
    }
    const job = ingest.get(parts[0]);
    if (parts.length === 1) {
      route('/:id');
      if (method === 'GET') return json(x, 200, ingestJobInfo(job, version));
      if (method === 'PATCH') {
        const body = await readJson(x.req);
        return json(x, 200, shortJobInfo(await ingest.changeState(job, body.state)));
      }
      if (method === 'DELETE') {
        await ingest.delete(job);
        if (x.dropResponse) return void x.req.socket.destroy();
        x.res.writeHead(204);
        return void x.res.end();
      }
      throw notFound();
    }
    const resource = parts[1];
    if (parts.length === 2 && resource === 'batches' && method === 'PUT') {
      route('/:id/batches');
      return this.upload(x, job);
    }
    const kinds = { successfulResults: 'success', failedResults: 'failed', unprocessedrecords: 'unprocessed' } as const;
    if (parts.length === 2 && resource in kinds && method === 'GET') {
      route(`/:id/${resource}`);
      return this.sendResults(x, job, kinds[resource as keyof typeof kinds]);
    }
    route('/:id/unknown');
    throw notFound();
  }

  private async upload(x: Exchange, job: IngestJob): Promise<void> {
    const { ingest, faults } = this.options;
    ingest.beginUpload(job);
    job.uploaded = true; // a concurrent second PUT is refused while this one streams
    const file = ingest.uploadFile(job);
    await mkdir(dirname(file), { recursive: true });
    const length = Number(x.req.headers['content-length'] ?? 0);
    const dropAt = faults.chance(faults.value.dropUploadRate) ? 1 + Math.floor(faults.draw() * Math.max(length, 1)) : undefined;
    let bytes = 0;
    let tooLarge = false;
    const maxBytes = ingest.maxUploadBytes;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback): void {
        bytes += chunk.length;
        if (dropAt !== undefined && bytes >= dropAt) return callback(new UploadDropped());
        if (bytes > maxBytes) tooLarge = true;
        callback(null, tooLarge ? undefined : chunk);
      },
    });
    ingest.markUploading(job, true);
    try {
      await pipeline(x.req, counter, createWriteStream(file));
      if (dropAt !== undefined) throw new UploadDropped(); // the body ended before the drop point: lose the response instead
    } catch (error) {
      job.uploaded = false;
      await rm(file, { force: true });
      x.req.socket.destroy();
      if (error instanceof UploadDropped) this.count('dropped upload');
      return;
    } finally {
      ingest.markUploading(job, false);
    }
    if (tooLarge) {
      job.uploaded = false;
      await rm(file, { force: true });
      throw new ApiError(400, 'EXCEEDED_QUOTA', `The upload of job ${job.id} exceeds the maximum of ${maxBytes} bytes: split the data into several jobs`);
    }
    await ingest.finishUpload(job);
    if (x.dropResponse) return void x.req.socket.destroy();
    x.res.writeHead(201, { 'Content-Length': 0, ...(x.limitInfo ? { 'Sforce-Limit-Info': x.limitInfo } : {}) });
    x.res.end();
  }

  /** Streams a result file from disk; before processing wrote one, the file is its header alone. */
  private sendResults(x: Exchange, job: IngestJob, kind: 'success' | 'failed' | 'unprocessed'): void {
    if (x.dropResponse) return void x.req.socket.destroy();
    const headers = { 'Content-Type': 'text/csv', ...(x.limitInfo ? { 'Sforce-Limit-Info': x.limitInfo } : {}) };
    const stream = createReadStream(this.options.ingest.resultFile(job, kind));
    stream.once('error', () => {
      if (x.res.headersSent) return void x.res.destroy();
      x.res.writeHead(200, headers);
      x.res.end(this.options.ingest.resultHeader(job, kind));
    });
    stream.once('open', () => {
      x.res.writeHead(200, headers);
      stream.pipe(x.res);
    });
  }

  private async queryJobRoute(x: Exchange, method: string, parts: string[], version: string, query: URLSearchParams): Promise<void> {
    const { queryJobs } = this.options;
    const route = (name: string): void => this.count(`${method} jobs/query${name}`);
    if (parts.length === 0) {
      route('');
      if (method === 'POST') return json(x, 200, createdQueryJobInfo(queryJobs.create(await readJson(x.req), Number(version))));
      if (method === 'GET') return json(x, 200, this.listPage([...queryJobs.jobs.values()].map((j) => listedQueryJob(j)), 'query', version, query));
      throw notFound();
    }
    const job = queryJobs.get(parts[0]);
    if (parts.length === 1) {
      route('/:id');
      if (method === 'GET') return json(x, 200, queryJobInfo(job));
      if (method === 'PATCH') return json(x, 200, createdQueryJobInfo(queryJobs.abort(job, (await readJson(x.req)).state)));
      if (method === 'DELETE') {
        await queryJobs.delete(job);
        if (x.dropResponse) return void x.req.socket.destroy();
        x.res.writeHead(204);
        return void x.res.end();
      }
      throw notFound();
    }
    if (parts.length === 2 && parts[1] === 'results' && method === 'GET') {
      route('/:id/results');
      const max = query.get('maxRecords');
      const page = await queryJobs.page(job, query.get('locator'), max ? Number(max) : undefined);
      if (x.dropResponse) return void x.req.socket.destroy();
      x.res.writeHead(200, {
        'Content-Type': 'text/csv',
        'Sforce-NumberOfRecords': String(page.records),
        'Sforce-Locator': page.next,
        ...(x.limitInfo ? { 'Sforce-Limit-Info': x.limitInfo } : {}),
      });
      if (typeof page.body === 'string') return void x.res.end(page.body);
      x.res.write(job.headerLine);
      page.body.pipe(x.res);
      return;
    }
    route('/:id/unknown');
    throw notFound();
  }

  private listPage(all: Array<Record<string, unknown>>, kind: 'ingest' | 'query', version: string, query: URLSearchParams): Record<string, unknown> {
    const jobType = query.get('jobType');
    const filtered = jobType ? all.filter((j) => j.jobType === jobType) : all;
    const locator = query.get('queryLocator');
    const start = locator ? Number(Buffer.from(locator, 'base64url').toString('utf8')) || 0 : 0;
    const records = filtered.slice(start, start + LIST_PAGE);
    const done = start + LIST_PAGE >= filtered.length;
    const next = Buffer.from(String(start + LIST_PAGE)).toString('base64url');
    return {
      done,
      records,
      nextRecordsUrl: done ? null : `/services/data/v${version}/jobs/${kind}?queryLocator=${next}${jobType ? `&jobType=${jobType}` : ''}`,
    };
  }

  private queryPage(result: QueryResult, version: string, position: number, cursorId?: string): Record<string, unknown> {
    if (result.count && !result.aggregateAlias) return { totalSize: result.totalSize, done: true, records: [] };
    if (result.aggregateAlias) {
      return { totalSize: 1, done: true, records: [{ attributes: { type: 'AggregateResult' }, [result.aggregateAlias]: result.records.filter((r) => result.columns.every((c) => r[c.resolve[c.resolve.length - 1].field.name] !== undefined)).length }] };
    }
    const end = Math.min(result.records.length, position + QUERY_PAGE);
    const records = result.records.slice(position, end).map((r) => renderRecord(this.options.store, result, r, version));
    const done = end >= result.records.length;
    let id = cursorId;
    if (!done && !id) {
      this.cursorSerial += 1;
      id = makeId('01g', 'Lo0', this.cursorSerial);
      this.cursors.set(id, { result, version, position: end });
    }
    if (done && id) this.cursors.delete(id);
    return { totalSize: result.records.length, done, ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${String(id)}-${end}` }), records };
  }

  private token(x: Exchange, form: URLSearchParams): void {
    const { identity } = this.options;
    const grant = form.get('grant_type');
    const invalid = (description: string): void => json(x, 400, { error: 'invalid_grant', error_description: description });
    if (grant === 'refresh_token') {
      if (form.get('refresh_token') !== identity.refreshToken) return invalid('expired access/refresh token');
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const assertion = form.get('assertion') ?? '';
      let subject: unknown;
      try {
        subject = (JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown }).sub;
      } catch {
        return invalid('invalid assertion');
      }
      if (typeof subject !== 'string' || subject.toLowerCase() !== identity.username.toLowerCase()) return invalid("user hasn't approved this consumer");
    } else if (grant === 'client_credentials') {
      if (form.get('client_id') !== identity.clientId) return json(x, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    } else {
      return json(x, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
    const accessToken = this.issueToken();
    const issuedAt = String(Date.now());
    json(x, 200, {
      access_token: accessToken,
      signature: randomBytes(32).toString('base64'),
      scope: grant === 'refresh_token' ? 'refresh_token web api' : 'web api',
      instance_url: this.instanceUrl,
      id: `${this.instanceUrl}/id/${identity.orgId}/${identity.userId}`,
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  }

  private userInfo(): Record<string, unknown> {
    const { identity } = this.options;
    const v = `${MAX_API_VERSION}.0`;
    const base = `${this.instanceUrl}/services/data/v{version}`;
    return {
      sub: `${this.instanceUrl}/id/${identity.orgId}/${identity.userId}`,
      user_id: identity.userId,
      organization_id: identity.orgId,
      preferred_username: identity.username,
      nickname: identity.username.split('@')[0],
      name: 'Local Admin',
      email: identity.username,
      email_verified: true,
      given_name: 'Local',
      family_name: 'Admin',
      zoneinfo: 'GMT',
      photos: {},
      profile: `${this.instanceUrl}/${identity.userId}`,
      picture: '',
      address: {},
      is_salesforce_integration_user: false,
      urls: {
        enterprise: `${this.instanceUrl}/services/Soap/c/{version}/${identity.orgId}`,
        partner: `${this.instanceUrl}/services/Soap/u/{version}/${identity.orgId}`,
        rest: `${base}/`,
        sobjects: `${base}/sobjects/`,
        search: `${base}/search/`,
        query: `${base}/query/`,
        recent: `${base}/recent/`,
        limits: `${base}/limits/`,
        custom_domain: this.instanceUrl,
      },
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      updated_at: formatDateTime(new Date(0)).replace('.000+0000', 'Z'),
      is_app_installed: true,
      api_version: v,
    };
  }

  private identityDocument(): Record<string, unknown> {
    const { identity } = this.options;
    const info = this.userInfo();
    return {
      id: info.sub,
      asserted_user: true,
      user_id: identity.userId,
      organization_id: identity.orgId,
      username: identity.username,
      nick_name: info.nickname,
      display_name: info.name,
      email: identity.username,
      email_verified: true,
      first_name: 'Local',
      last_name: 'Admin',
      timezone: 'GMT',
      photos: {},
      addr_street: null,
      addr_city: null,
      addr_state: null,
      addr_country: null,
      addr_zip: null,
      mobile_phone: null,
      mobile_phone_verified: false,
      is_lightning_login_user: false,
      status: { created_date: null, body: null },
      urls: info.urls,
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      last_modified_date: info.updated_at,
      is_app_installed: true,
    };
  }

  private resources(version: string): Record<string, string> {
    const base = `/services/data/v${version}`;
    const names = ['tooling', 'metadata', 'eclair', 'folders', 'prechatForms', 'contact-tracing', 'chatter', 'tabs', 'appMenu', 'quickActions', 'queryAll', 'commerce', 'wave', 'iot', 'analytics', 'search', 'smartdatadiscovery', 'identity', 'composite', 'parameterizedSearch', 'fingerprint', 'theme', 'nouns', 'domino', 'event', 'serverInfo', 'sobjects', 'connect', 'actions', 'support', 'recent', 'query', 'process', 'limits', 'jobs', 'localizedvalue', 'licensing'];
    const map: Record<string, string> = {};
    for (const name of names) map[name] = name === 'identity' ? `${this.instanceUrl}/id/${this.options.identity.orgId}/${this.options.identity.userId}` : `${base}/${name}`;
    return map;
  }

  private limits(): Record<string, unknown> {
    const limit = (max: number, used: number): { Max: number; Remaining: number } => ({ Max: max, Remaining: Math.max(0, max - used) });
    return {
      ConcurrentAsyncGetReportInstances: limit(200, 0),
      DailyApiRequests: limit(this.options.dailyApiRequests, this.usage.api),
      DailyAsyncApexExecutions: limit(250_000, 0),
      DailyBulkApiBatches: limit(15_000, this.usage.batches),
      DailyBulkV2QueryFileStorageMB: limit(976_562, 0),
      DailyBulkV2QueryJobs: limit(10_000, this.usage.queryJobs),
      DataStorageMB: limit(1024, 0),
      FileStorageMB: limit(1024, 0),
      HourlyTimeBasedWorkflow: limit(1000, 0),
      SingleEmail: limit(5000, 0),
    };
  }

  private objectSummary(describe: ObjectDescribe, version: string): Record<string, unknown> {
    const url = `/services/data/v${version}/sobjects/${describe.name}`;
    const { fields, bulkIngestable, ...rest } = describe;
    void fields;
    void bulkIngestable;
    return {
      activateable: false,
      customSetting: false,
      deprecatedAndHidden: false,
      feedEnabled: false,
      hasSubtypes: false,
      isSubtype: false,
      layoutable: true,
      mergeable: false,
      mruEnabled: true,
      replicateable: true,
      retrieveable: true,
      searchable: true,
      triggerable: true,
      undeletable: true,
      ...rest,
      urls: { compactLayouts: `${url}/describe/compactLayouts`, rowTemplate: `${url}/{ID}`, describe: `${url}/describe`, sobject: url },
    };
  }

  private recordJson(describe: ObjectDescribe, record: StoredRecord, version: string, fieldList: string | null): Record<string, unknown> {
    const wanted = fieldList ? fieldList.split(',').map((f) => f.trim().toLowerCase()) : undefined;
    const out: Record<string, unknown> = { attributes: { type: describe.name, url: `/services/data/v${version}/sobjects/${describe.name}/${record.Id}` } };
    for (const field of describe.fields) if (!wanted || wanted.includes(field.name.toLowerCase())) out[field.name] = record[field.name] ?? null;
    return out;
  }
}


/** The `columns=true` answer of the query resource: what `sf data query` reads to lay out its table. */
function columnMetadata(result: QueryResult): Record<string, unknown> {
  const column = (name: string, field: { type: string; createable: boolean; updateable: boolean; custom: boolean } | undefined, joinColumns: unknown[]): Record<string, unknown> => ({
    aggregate: false,
    apexType: field ? ({ id: 'Id', reference: 'Id', boolean: 'Boolean', int: 'Integer', double: 'Double', currency: 'Decimal', percent: 'Decimal', date: 'Date', datetime: 'Datetime' } as Record<string, string>)[field.type] ?? 'String' : null,
    booleanType: field?.type === 'boolean',
    columnName: name,
    custom: field?.custom ?? false,
    displayName: name,
    foreignKeyName: null,
    insertable: field?.createable ?? false,
    joinColumns,
    numberType: ['int', 'double', 'currency', 'percent'].includes(field?.type ?? ''),
    textType: !['id', 'reference', 'boolean', 'int', 'double', 'currency', 'percent', 'date', 'datetime'].includes(field?.type ?? 'id'),
    updatable: field?.updateable ?? false,
  });
  const columns: Array<Record<string, unknown>> = [];
  if (result.aggregateAlias) {
    columns.push({ ...column(result.aggregateAlias, undefined, []), aggregate: true, apexType: 'Integer', displayName: 'COUNT', numberType: true });
  }
  for (const c of result.aggregateAlias ? [] : result.columns) {
    // Parent paths nest: Owner.Name is column Owner with join column Name.
    let node: Record<string, unknown> | undefined;
    for (let i = c.resolve.length - 1; i >= 0; i--) {
      const step = c.resolve[i];
      const last = i === c.resolve.length - 1;
      node = column(last ? step.field.name : step.field.relationshipName ?? step.field.name, last ? step.field : undefined, node ? [node] : []);
    }
    const name = node?.columnName;
    const existing = columns.find((col) => col.columnName === name && (col.joinColumns as unknown[]).length > 0);
    if (existing && node && (node.joinColumns as unknown[]).length) (existing.joinColumns as unknown[]).push(...(node.joinColumns as unknown[]));
    else if (node) columns.push(node);
  }
  const object = result.object.describe;
  return { columnMetadata: columns, entityName: object.name, groupBy: false, idSelected: result.columns.some((c) => c.name === 'Id'), keyPrefix: object.keyPrefix };
}

// Job info documents, each in the field order a real org answers with.

function createdJobInfo(job: IngestJob, version: string): Record<string, unknown> {
  return {
    ...shortJobInfo(job),
    ...(job.state === 'Open' ? { contentUrl: `services/data/v${version}/jobs/ingest/${job.id}/batches` } : {}),
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  };
}

function shortJobInfo(job: IngestJob): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: job.createdDate,
    systemModstamp: job.systemModstamp,
    state: job.state,
    ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
  };
}

function listedIngestJob(job: IngestJob, version: string): Record<string, unknown> {
  return {
    ...shortJobInfo(job),
    ...(job.state === 'Open' ? { contentUrl: `services/data/v${version}/jobs/ingest/${job.id}/batches` } : {}),
    jobType: 'V2Ingest',
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  };
}

function ingestJobInfo(job: IngestJob, version: string): Record<string, unknown> {
  return {
    ...listedIngestJob(job, version),
    numberRecordsProcessed: job.numberRecordsProcessed,
    numberRecordsFailed: job.numberRecordsFailed,
    retries: job.retries,
    totalProcessingTime: job.totalProcessingTime,
    apiActiveProcessingTime: job.apiActiveProcessingTime,
    apexProcessingTime: job.apexProcessingTime,
    ...(job.errorMessage && job.state === 'Failed' ? { errorMessage: job.errorMessage } : {}),
  };
}

function createdQueryJobInfo(job: QueryJob): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: job.createdDate,
    systemModstamp: job.systemModstamp,
    state: job.state,
    concurrencyMode: job.concurrencyMode,
    contentType: job.contentType,
    apiVersion: job.apiVersion,
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  };
}

function listedQueryJob(job: QueryJob): Record<string, unknown> {
  const { lineEnding, columnDelimiter, ...head } = createdQueryJobInfo(job);
  return { ...head, jobType: 'V2Query', lineEnding, columnDelimiter };
}

function queryJobInfo(job: QueryJob): Record<string, unknown> {
  return {
    ...listedQueryJob(job),
    numberRecordsProcessed: job.numberRecordsProcessed,
    retries: job.retries,
    totalProcessingTime: job.totalProcessingTime,
    isPkChunkingSupported: true,
    ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
  };
}
