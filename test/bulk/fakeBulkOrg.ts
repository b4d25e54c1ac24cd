/*
 * A small scripted Bulk API 2.0 server for the client's unit tests: just enough of the wire
 * protocol to drive every path of the client, plus precise, one-shot faults (the local org's faults
 * are random by rate; these hit exactly the request a test names).
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthInfo, Connection } from '@salesforce/core';

export const API_VERSION = '62.0';

export type Route = 'create' | 'upload' | 'close' | 'info' | 'delete' | 'results' | 'list' | 'resources';

export type Fault =
  /** answer with this status (and body) without doing anything */
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  /** destroy the socket before doing anything */
  | { kind: 'drop' }
  /** never answer (the client's timeout must end the wait) */
  | { kind: 'hang' }
  /** do the work, then destroy the socket instead of answering (a lost response) */
  | { kind: 'dropAfterApply' }
  /** take the whole upload, then answer this status instead of 201 (e.g. a proxy's 401 after the org took it) */
  | { kind: 'applyThenStatus'; status: number; body?: string }
  /** read this many bytes of the upload, then destroy the socket */
  | { kind: 'dropUploadAfter'; bytes: number }
  /** announce the whole result body, send half of it, then destroy the socket */
  | { kind: 'truncateResults' };

export type FakeJob = {
  info: Record<string, unknown>;
  upload?: { bytes: number; sha256: string; text: string; chunked: boolean };
  /** states the job shows on successive status calls once closed (with a record count, if given) */
  afterClose: Array<string | { state: string; processed: number }>;
  results: { successful: string; failed: string; unprocessed: string };
};

type Answer = { status: number; body?: unknown };

export type SeenRequest = { route: Route | 'unknown'; method: string; path: string; authorization?: string };

const JOB_ID_PREFIX = '750fk0000';

function send(res: ServerResponse, status: number, body?: unknown, contentType = 'application/json'): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function errorBody(errorCode: string, message: string): unknown {
  return [{ errorCode, message }];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export class FakeBulkOrg {
  public instanceUrl = '';
  public token = '00Dfk0000000001!AQ0AQfirst';
  public refreshes = 0;
  public readonly jobs = new Map<string, FakeJob>();
  public readonly seen: SeenRequest[] = [];
  /** states a job shows after close unless a test sets `afterClose` on it */
  public defaultAfterClose = ['InProgress', 'JobComplete'];
  public defaultResults = {
    successful: '"sf__Id","sf__Created",Name\n"001fk0000000001AAA","true","Acme"\n',
    failed: '"sf__Id","sf__Error",Name\n',
    unprocessed: 'Name\n',
  };
  public listPageSize = 2;
  private readonly faults: Array<{ route: Route; fault: Fault }> = [];
  private server?: http.Server;
  private nextJob = 1;

  public static async start(): Promise<FakeBulkOrg> {
    const org = new FakeBulkOrg();
    org.server = http.createServer((req, res) => {
      org.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, errorBody('UNKNOWN_EXCEPTION', String(error)));
      });
    });
    await new Promise<void>((resolve) => org.server!.listen(0, '127.0.0.1', resolve));
    org.instanceUrl = `http://127.0.0.1:${(org.server.address() as AddressInfo).port}`;
    return org;
  }

  /** the next request on `route` gets `fault` (faults queue up in order) */
  public fail(route: Route, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ route, fault });
  }

  /** the session expires: the client's token is refused until it refreshes */
  public expireSession(): void {
    this.token = `00Dfk0000000001!AQ0AQ${Math.random().toString(36).slice(2)}`;
  }

  public count(route: Route): number {
    return this.seen.filter((r) => r.route === route).length;
  }

  public async connection(): Promise<Connection> {
    const accessToken = this.token;
    const authInfo = await AuthInfo.create({
      accessTokenOptions: {
        accessToken,
        instanceUrl: this.instanceUrl,
        loginUrl: this.instanceUrl,
        username: 'bulk-test@fake.org',
        orgId: '00Dfk0000000001AAA',
        isDevHub: false,
        namespacePrefix: '',
      },
    });
    // Built directly (not Connection.create) to hand jsforce a refresh function, like the one
    // @salesforce/core's AuthInfo gives it for an org with a refresh token.
    const connection = new Connection({
      authInfo,
      connectionOptions: {
        accessToken,
        instanceUrl: this.instanceUrl,
        version: API_VERSION,
        refreshFn: (_conn, callback): void => {
          this.refreshes++;
          callback(null, this.token);
        },
      },
    });
    await connection.init();
    return connection;
  }

  public async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private takeFault(route: Route): Fault | undefined {
    const index = this.faults.findIndex((f) => f.route === route);
    return index < 0 ? undefined : this.faults.splice(index, 1)[0].fault;
  }

  private route(method: string, path: string): Route | 'unknown' {
    const base = `/services/data/v${API_VERSION}`;
    if (path === base) return 'resources';
    if (!path.startsWith(`${base}/jobs/ingest`)) return 'unknown';
    const rest = path.slice(`${base}/jobs/ingest`.length).split('/').filter(Boolean);
    if (rest.length === 0) return method === 'POST' ? 'create' : 'list';
    if (rest.length === 2 && rest[1] === 'batches') return 'upload';
    if (rest.length === 2) return 'results';
    if (method === 'PATCH') return 'close';
    if (method === 'DELETE') return 'delete';
    return 'info';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.instanceUrl);
    const method = req.method ?? 'GET';
    const route = this.route(method, url.pathname);
    this.seen.push({ route, method, path: url.pathname, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      send(res, 401, errorBody('INVALID_SESSION_ID', 'Session expired or invalid'));
      return;
    }
    if (route === 'unknown') {
      send(res, 404, errorBody('NOT_FOUND', 'The requested resource does not exist'));
      return;
    }
    const fault = this.takeFault(route);
    if (fault?.kind === 'status') {
      send(res, fault.status, fault.body ?? errorBody('SERVER_UNAVAILABLE', 'try later'), fault.contentType);
      return;
    }
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }
    if (route === 'resources') {
      send(res, 200, { jobs: `/services/data/v${API_VERSION}/jobs` });
      return;
    }
    const jobId = url.pathname.split('/')[6];
    if (jobId && !this.jobs.has(jobId)) {
      send(res, 404, errorBody('NOT_FOUND', 'The requested resource does not exist'));
      return;
    }
    if (route === 'upload') {
      await this.upload(req, res, jobId, fault);
      return;
    }
    const body = await readBody(req);
    const answer = this.apply(route, url, jobId, body);
    if (fault?.kind === 'dropAfterApply') {
      req.socket.destroy();
      return;
    }
    if (route === 'results' && answer.status === 200) {
      const text = answer.body as string;
      if (fault?.kind === 'truncateResults') {
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      send(res, 200, text, 'text/csv');
      return;
    }
    send(res, answer.status, answer.body);
  }

  private apply(route: Route, url: URL, jobId: string | undefined, body: Buffer): Answer {
    switch (route) {
      case 'create':
        return this.createJob(JSON.parse(body.toString('utf8')) as Record<string, string>);
      case 'close':
        return this.changeState(jobId!, (JSON.parse(body.toString('utf8')) as { state: string }).state);
      case 'info':
        return this.jobInfo(jobId!);
      case 'delete':
        return this.deleteJob(jobId!);
      case 'results':
        return this.resultText(jobId!, url.pathname.split('/')[7]);
      case 'list':
        return this.listPage(Number(url.searchParams.get('queryLocator') ?? 0));
      default:
        return { status: 404, body: errorBody('NOT_FOUND', 'The requested resource does not exist') };
    }
  }

  private createJob(request: Record<string, string>): Answer {
    const id = `${JOB_ID_PREFIX}${String(this.nextJob++).padStart(6, '0')}AAA`;
    const info = {
      id,
      operation: request.operation,
      object: request.object,
      createdById: '005fk0000000001AAA',
      createdDate: '2026-11-29T02:00:00.000+0000',
      systemModstamp: '2026-11-29T02:00:00.000+0000',
      state: 'Open',
      ...(request.externalIdFieldName ? { externalIdFieldName: request.externalIdFieldName } : {}),
      concurrencyMode: 'Parallel',
      contentType: request.contentType,
      apiVersion: Number(API_VERSION),
      contentUrl: `services/data/v${API_VERSION}/jobs/ingest/${id}/batches`,
      lineEnding: request.lineEnding ?? 'LF',
      columnDelimiter: request.columnDelimiter ?? 'COMMA',
      ...(request.assignmentRuleId ? { assignmentRuleId: request.assignmentRuleId } : {}),
    };
    this.jobs.set(id, { info, afterClose: [...this.defaultAfterClose], results: { ...this.defaultResults } });
    return { status: 200, body: info };
  }

  private changeState(jobId: string, state: string): Answer {
    const { info } = this.jobs.get(jobId)!;
    const from = info.state as string;
    const allowed =
      state === 'UploadComplete' ? from === 'Open' : ['Open', 'UploadComplete', 'InProgress'].includes(from);
    if (!allowed) {
      return {
        status: 400,
        body: errorBody('INVALIDJOBSTATE', `Invalid job state transition from ${from} to ${state}`),
      };
    }
    info.state = state;
    delete info.contentUrl;
    return { status: 200, body: info };
  }

  private jobInfo(jobId: string): Answer {
    const { info, afterClose } = this.jobs.get(jobId)!;
    if ((info.state === 'UploadComplete' || info.state === 'InProgress') && afterClose.length > 0) {
      const next = afterClose.shift()!;
      if (typeof next === 'string') info.state = next;
      else {
        info.state = next.state;
        info.numberRecordsProcessed = next.processed;
      }
    }
    if (info.state === 'JobComplete') {
      info.numberRecordsProcessed = 1;
      info.numberRecordsFailed = 0;
    }
    return { status: 200, body: { ...info, jobType: 'V2Ingest' } };
  }

  private deleteJob(jobId: string): Answer {
    const state = this.jobs.get(jobId)!.info.state as string;
    if (state === 'Open' || state === 'InProgress') {
      return { status: 400, body: errorBody('INVALIDJOBSTATE', `Cannot delete a job in state ${state}`) };
    }
    this.jobs.delete(jobId);
    return { status: 204 };
  }

  private resultText(jobId: string, segment: string): Answer {
    const { results } = this.jobs.get(jobId)!;
    const text =
      segment === 'successfulResults'
        ? results.successful
        : segment === 'failedResults'
          ? results.failed
          : results.unprocessed;
    return { status: 200, body: text };
  }

  private listPage(start: number): Answer {
    const all = [...this.jobs.values()].map((j) => j.info);
    const end = start + this.listPageSize;
    const done = end >= all.length;
    return {
      status: 200,
      body: {
        done,
        records: all.slice(start, end),
        nextRecordsUrl: done ? null : `/services/data/v${API_VERSION}/jobs/ingest?queryLocator=${end}`,
      },
    };
  }

  private async upload(
    req: IncomingMessage,
    res: ServerResponse,
    jobId: string,
    fault: Fault | undefined,
  ): Promise<void> {
    const job = this.jobs.get(jobId)!;
    if (job.info.state !== 'Open') {
      req.resume();
      send(res, 400, errorBody('INVALIDJOBSTATE', 'Job is not open for uploads'));
      return;
    }
    if (job.upload) {
      req.resume();
      // a real org's answer (salesforce-api.md §1), typo and 15-character id included
      const message =
        `Found multipe contents for job: <${jobId.slice(0, 15)}>, please 'Close' / 'Abort' / 'Delete' the current ` +
        "Job then create a new Job and make sure you only do 'PUT' once on a given Job.";
      send(res, 400, errorBody('BULK_API_ERROR', message));
      return;
    }
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      bytes += buffer.length;
      hash.update(buffer);
      if (bytes <= 1024 * 1024) kept.push(buffer);
      if (fault?.kind === 'dropUploadAfter' && bytes >= fault.bytes) {
        // the org keeps what it got: the job now holds a partial upload
        this.jobs.set(jobId, { ...job, upload: { bytes, sha256: '', text: '', chunked: true } });
        req.socket.destroy();
        return;
      }
    }
    const upload = {
      bytes,
      sha256: hash.digest('hex'),
      text: bytes <= 1024 * 1024 ? Buffer.concat(kept).toString('utf8') : '',
      chunked: req.headers['transfer-encoding'] === 'chunked',
    };
    this.jobs.set(jobId, { ...job, upload });
    if (fault?.kind === 'applyThenStatus') {
      send(res, fault.status, fault.body);
      return;
    }
    send(res, 201);
  }
}
