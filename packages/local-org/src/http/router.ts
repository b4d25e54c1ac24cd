import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, notFound } from '../api-error.js';
import { faultSettingsProblems, type Faults, type FaultSettings } from '../faults.js';
import type { IngestJobs } from '../ingest.js';
import type { QueryJobs } from '../query-jobs.js';
import { SoqlError } from '../soql-parser.js';
import type { RecordStore } from '../store.js';
import type { Collections } from '../collections.js';
import { apiVersions, MIN_API_VERSION, type Usage } from './documents.js';
import {
  apiError,
  dropConnection,
  json,
  newExchange,
  readForm,
  readJson,
  type ApiRequest,
  type Exchange,
} from './exchange.js';
import { CollectionRoutes } from './collection-routes.js';
import { IngestRoutes } from './ingest-routes.js';
import { OAuth, type Identity } from './oauth.js';
import { QueryRoutes } from './query-routes.js';
import { RestRoutes } from './rest-routes.js';
import { Sessions } from './sessions.js';

export type ServerOptions = {
  store: RecordStore;
  faults: Faults;
  identity: Identity;
  ingest: IngestJobs;
  queryJobs: QueryJobs;
  dailyApiRequests: number;
  /** the realistic processing model's request latency, waited before every request is answered */
  requestLatency?: () => Promise<void>;
};

/**
 * The loopback Salesforce: the HTTP server, and the gates every request passes in a real org's order
 * (faults, authentication, the daily API limit, the version), before the route modules answer it.
 */
export class LocalOrgServer {
  public instanceUrl = '';
  public accessToken = '';
  /** requests by route; internalErrors: requests answered 500 by the org's own failure (not a fault) */
  public readonly stats = { requests: 0, byRoute: {} as Record<string, number>, internalErrors: 0 };
  private readonly usage: Usage = { api: 0, batches: 0, queryJobs: 0 };
  private readonly sessions: Sessions;
  private readonly oauth: OAuth;
  private readonly rest: RestRoutes;
  private readonly query: QueryRoutes;
  private readonly ingest: IngestRoutes;
  private readonly collections: CollectionRoutes;
  private readonly server: Server;

  public constructor(private readonly options: ServerOptions) {
    const count = (route: string): void => this.count(route);
    this.sessions = new Sessions(options.identity.orgId, options.faults);
    this.oauth = new OAuth(options.identity, this.sessions, () => this.instanceUrl, options.store.object('User')!);
    this.rest = new RestRoutes({
      store: options.store,
      dailyApiRequests: options.dailyApiRequests,
      usage: this.usage,
      identityUrl: (): string => this.oauth.identityUrl,
      count,
      collections: (): Collections => this.collections.collections,
    });
    this.query = new QueryRoutes(options.store, options.queryJobs, count);
    this.ingest = new IngestRoutes(options.ingest, options.faults, count);
    this.collections = new CollectionRoutes(options.store, options.identity.userId, options.faults, count);
    this.server = createServer((req, res) => {
      const socket = req.socket;
      this.handle(req, res).catch((error: unknown) => {
        if (socket.destroyed) {
          // The client went away while its body was being read (a JSON body cut off): nothing failed here.
          this.count('aborted request');
          return void res.destroy();
        }
        this.stats.internalErrors += 1;
        if (process.env.LOCAL_ORG_TRACE) {
          process.stderr.write(`local-org internal error: ${String((error as Error).stack)}\n`);
        }
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
    this.accessToken = this.sessions.issue(this.options.identity.userId);
  }

  /** An access token of another user of the org (see OAuth.sessionFor). */
  public sessionFor(username: string): string | undefined {
    return this.oauth.sessionFor(username);
  }

  public async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private count(route: string): void {
    this.stats.requests += 1;
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
  }

  // eslint-disable-next-line complexity -- one straight pipeline of gates, in the order a real org applies them
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The sf CLI keeps instanceUrl with a trailing slash, so jsforce asks for //services/...: tolerate both.
    // (Not new URL(req.url): it would read a leading // as a host name.)
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const searchParams = new URLSearchParams(queryAt >= 0 ? target.slice(queryAt + 1) : '');
    const rawPath = queryAt >= 0 ? target.slice(0, queryAt) : target;
    const path =
      decodeURIComponent(rawPath)
        .replace(/\/{2,}/g, '/')
        .replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const x = newExchange(req, res);
    const { faults } = this.options;
    // LOCAL_ORG_TRACE=1 logs every exchange to stderr: what a client really asked for, and the status it got.
    if (process.env.LOCAL_ORG_TRACE) {
      res.once('finish', () => process.stderr.write(`local-org ${method} ${req.url ?? ''} -> ${res.statusCode}\n`));
    }

    if (faults.value.latencyMs) await sleep(faults.value.latencyMs);
    if (this.options.requestLatency) await this.options.requestLatency();

    if (path === '/services/data' && method === 'GET') {
      this.count('GET versions');
      return json(x, 200, apiVersions());
    }
    if (path === '/services/oauth2/token' && method === 'POST') {
      this.count('POST oauth2/token');
      return this.oauth.token(x, await readForm(req));
    }
    if (path === '/services/oauth2/revoke') {
      this.count(`${method} oauth2/revoke`);
      req.resume();
      return json(x, 200, {});
    }
    if (path === '/local-org/faults') return this.faultSettings(x, method);
    if (path === '/local-org/model') return this.modelReport(x, method);
    // Faults apply to API requests; the version list and the token endpoint stay reliable so a client can always
    // re-authenticate.
    if (faults.chance(faults.value.dropConnectionRate)) {
      if (faults.draw() < 0.5) {
        this.count('dropped');
        dropConnection(x);
        return;
      }
      x.dropResponse = true;
    }

    const userId = this.sessions.authenticate(req);
    if (userId === undefined) {
      this.count('unauthorized');
      req.resume();
      return json(x, 401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }

    if (path === '/services/oauth2/userinfo') {
      this.count('GET oauth2/userinfo');
      return json(x, 200, this.oauth.userInfo(userId));
    }
    const idMatch = /^\/id\/(\w+)\/(\w+)$/.exec(path);
    if (idMatch) {
      this.count('GET identity');
      if (!this.oauth.isOwnOrg(idMatch[1]))
        return apiError(x, 404, 'NOT_FOUND', 'The requested resource does not exist');
      return json(x, 200, this.oauth.identityDocument(userId));
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
    if (faults.chance(faults.value.concurrentLimitRate)) {
      this.count('concurrent limit');
      req.resume();
      return apiError(x, 403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.');
    }
    if (faults.chance(faults.value.serverErrorRate)) {
      this.count('server error');
      req.resume();
      return this.serverError(x);
    }

    const version = api[1];
    const versionNumber = Number(version);
    if (versionNumber < MIN_API_VERSION || versionNumber > 99) {
      this.count('not found');
      return apiError(x, 404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    const parts = (api[2] ?? '').split('/').filter(Boolean);
    try {
      await this.route({ x, method, parts, version, query: searchParams, userId });
    } catch (error) {
      req.resume();
      if (error instanceof ApiError) return apiError(x, error.status, error.errorCode, error.message);
      if (error instanceof SoqlError) return apiError(x, 400, error.errorCode, error.message);
      throw error;
    }
  }

  /** The serverErrorRate fault: a 500 with an ErrorId as a real org words it, or a 503. */
  private serverError(x: Exchange): void {
    const { faults } = this.options;
    if (faults.draw() >= 0.5) {
      return apiError(
        x,
        503,
        'SERVER_UNAVAILABLE',
        'Service Unavailable: the server is temporarily unable to handle the request.',
      );
    }
    const [a, b, c] = [randomBytes(4).readUInt32BE(), randomBytes(2).readUInt16BE(), randomBytes(3).readUIntBE(0, 3)];
    const errorId = `${a}-${b} (-${c})`;
    apiError(
      x,
      500,
      'UNKNOWN_EXCEPTION',
      `An unexpected error occurred. Please include this ErrorId if you contact support: ${errorId}`,
    );
  }

  /**
   * Control surface of the local org itself (not a Salesforce resource): read or replace the fault
   * settings of a running org, e.g. one started by `sf migrate local-org start`, from another process.
   */
  private async faultSettings(x: Exchange, method: string): Promise<void> {
    const { faults } = this.options;
    this.count(`${method} local-org/faults`);
    // Any token the org issued (expired ones included): faults must be switchable off even when they expire sessions.
    if (!this.sessions.wasIssued(x.req)) return apiError(x, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (method === 'PUT') {
      let settings: unknown;
      try {
        settings = await readJson(x.req);
      } catch (error) {
        return apiError(x, 400, 'JSON_PARSER_ERROR', (error as Error).message);
      }
      const problems = faultSettingsProblems(settings);
      if (problems.length) return apiError(x, 400, 'INVALID_FAULTS', problems.join('; '));
      faults.set(settings as FaultSettings);
    } else if (method !== 'GET') return apiError(x, 405, 'METHOD_NOT_ALLOWED', 'Use GET or PUT');
    return json(x, 200, faults.current());
  }

  /**
   * GET /local-org/model: what the realistic model did so far (processing/model-report.ts), for a benchmark
   * that attributes a client's time against the model's. Not a Salesforce resource; 404 in the instant model.
   */
  private modelReport(x: Exchange, method: string): void {
    this.count(`${method} local-org/model`);
    x.req.resume();
    if (!this.sessions.wasIssued(x.req)) return apiError(x, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (method !== 'GET') return apiError(x, 405, 'METHOD_NOT_ALLOWED', 'Use GET');
    const report = this.options.ingest.report;
    if (!report) return apiError(x, 404, 'NOT_FOUND', 'The org runs the instant model: it keeps no model report');
    return json(x, 200, report.toJSON());
  }

  private async route(request: ApiRequest): Promise<void> {
    const { method, parts } = request;
    const [a, b] = parts;
    if (await this.rest.handle(request)) return;
    if ((a === 'query' || a === 'queryAll') && method === 'GET' && this.query.rest(request)) return;
    if (a === 'jobs' && b === 'ingest') return this.ingest.handle({ ...request, parts: parts.slice(2) });
    if (a === 'jobs' && b === 'query') return this.query.jobs({ ...request, parts: parts.slice(2) });
    if (a === 'composite' && b === 'sobjects') return this.collections.handle({ ...request, parts: parts.slice(2) });
    this.count(`${method} unknown`);
    throw notFound();
  }
}
