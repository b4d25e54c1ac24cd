/*
 * The one door between the plugin and an org. Every exchange with an org goes through here: the
 * ingest client's JSON calls (and the session refresh they trigger), the streamed upload, the
 * streamed result downloads, and the preflight's describes and limits. So the user's proxy applies
 * to all of them, and every exchange is logged alike (debug level, `sf-migrate:org`: method, path,
 * status, time, and whether it went through the proxy; never a header, a query string or a body).
 *
 * Which proxy an exchange goes through is proxy.ts's choice (the sf CLI's proxy variables and NO_PROXY);
 * this module routes each exchange accordingly.
 *
 * How: node:http(s) with the proxy agents of `http-proxy-agent` (plain forwarding for an http:// org, such
 * as the loopback local org) and `https-proxy-agent` (a CONNECT tunnel for https://), the agents the
 * sf CLI's dependency tree already brings through proxy-agent. JSON calls still go through
 * `connection.request`, so the CLI's auth headers and jsforce's session refresh (fed by @salesforce/core's
 * AuthInfo) apply; jsforce is handed a transport that sends through this door (`transport`, an option its
 * HttpApi reads from the request options) instead of its own.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { type Connection, Logger } from '@salesforce/core';
import type { JsonMap } from '@salesforce/ts-types';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { proxyFor } from './proxy.js';

/** How much of an error body is kept: enough for the JSON error array, never a whole file. */
const MAX_ERROR_BODY = 64 * 1024;

let logger: Logger | undefined;
function log(): Logger {
  logger ??= Logger.childFromRoot('sf-migrate:org');
  return logger;
}

/** Debug lines of the other org modules (retries, refreshes) go to the same logger as the exchanges. */
export function debugLog(message: string): void {
  log().debug(message);
}

/** Kept-alive agents for JSON calls, one per proxy and target scheme. */
const sharedAgents = new Map<string, http.Agent>();

function proxyAgent(target: URL, proxy: URL, keepAlive: boolean): http.Agent {
  return target.protocol === 'https:'
    ? new HttpsProxyAgent(proxy, { keepAlive })
    : new HttpProxyAgent(proxy, { keepAlive });
}

/**
 * The route of one exchange: the proxy (if any) and the agent. `fresh`: a connection of its own that
 * is closed after the exchange (an upload must not go out on a kept-alive socket the server may have
 * just closed: that would turn into a failed upload, and a new job, for no reason).
 */
function route(target: URL, fresh: boolean): { proxy?: URL; agent: http.Agent | false | undefined } {
  const proxy = proxyFor(target);
  if (!proxy) return { agent: fresh ? false : undefined };
  if (fresh) return { proxy, agent: proxyAgent(target, proxy, false) };
  const key = `${proxy.href} ${target.protocol}`;
  let agent = sharedAgents.get(key);
  if (!agent) {
    agent = proxyAgent(target, proxy, true);
    sharedAgents.set(key, agent);
  }
  return { proxy, agent };
}

function clientFor(url: URL): typeof http | typeof https {
  return url.protocol === 'https:' ? https : http;
}

function logExchange(method: string, url: URL, status: number, started: number, proxy: URL | undefined): void {
  const via = proxy ? ` via proxy ${proxy.host}` : '';
  log().debug(`${method} ${url.pathname} -> ${status || 'no answer'} in ${Date.now() - started} ms${via}`);
}

function timeoutError(code: string, message: string): Error {
  const error = new Error(message) as Error & { code: string };
  error.code = code;
  return error;
}

async function readText(response: IncomingMessage, max = MAX_ERROR_BODY): Promise<string> {
  const parts: Buffer[] = [];
  let kept = 0;
  try {
    for await (const chunk of response) {
      const buffer = chunk as Buffer;
      if (kept < max) {
        parts.push(buffer.subarray(0, max - kept));
        kept += Math.min(buffer.length, max - kept);
      }
    }
  } catch {
    // The status line already tells what happened; a body cut short only loses detail.
  }
  return Buffer.concat(parts).toString('utf8');
}

export type StreamedResponse = { status: number; headers: IncomingHttpHeaders; text: string };

// ---------------------------------------------------------------------------------------------------
// JSON calls: through connection.request, with a transport that sends through this door.

/** The request jsforce hands a transport. */
type TransportRequest = {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
};

/** What jsforce's HttpApi reads of a transport's answer. */
type TransportResponse = { statusCode: number; headers: Record<string, string>; body: string };

type TransportExchange = Promise<TransportResponse> & { stream(): Readable };

/** One buffered exchange (JSON bodies are small); rejects on a socket error or after `timeoutMs`. */
function bufferedExchange(request: TransportRequest, timeoutMs: number): Promise<TransportResponse> {
  const url = new URL(request.url);
  const { proxy, agent } = route(url, false);
  const started = Date.now();
  if (request.body !== undefined && typeof request.body !== 'string') {
    return Promise.reject(new TypeError('the org door sends JSON calls with a string body only'));
  }
  const body = request.body;
  const headers: OutgoingHttpHeaders = { ...request.headers };
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  return new Promise<TransportResponse>((resolve, reject) => {
    const outgoing = clientFor(url).request(url, { method: request.method, headers, agent });
    const timer = setTimeout(
      () => outgoing.destroy(timeoutError('ETIMEDOUT', `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      logExchange(request.method, url, 0, started, proxy);
      reject(error);
    };
    outgoing.on('error', fail);
    outgoing.on('response', (response) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        logExchange(request.method, url, status, started, proxy);
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ statusCode: status, headers: flat, body: Buffer.concat(parts).toString('utf8') });
      });
    });
    outgoing.end(body);
  });
}

export type OrgCallOptions = {
  /** longest wait for one exchange's answer */
  timeoutMs: number;
  /**
   * 401 answers within one call after which the next exchange is not sent. jsforce refreshes the
   * session and sends again on every 401, without limit: a session the org keeps refusing would spin
   * forever.
   */
  maxRefused: number;
  /** told of each exchange: its status (0: no answer) and when it started */
  onExchange?: (status: number, started: number) => void;
};

/** Thrown instead of sending once the org refused the session `maxRefused` times in one call. */
export class SessionKeptRefusedError extends Error {
  public constructor() {
    super('the org kept refusing the refreshed session');
    this.name = 'SessionKeptRefusedError';
  }
}

/**
 * One JSON call to the org through `connection.request` (auth header, session refresh on 401, error
 * bodies parsed by jsforce), every exchange of it sent through this door. `lastStatus` is the HTTP
 * status of its last exchange (jsforce's errors do not carry it, and 5xx vs 4xx decides a retry).
 */
export class OrgCall {
  public lastStatus = 0;
  public refused = 0;

  public constructor(
    private readonly connection: Connection,
    private readonly options: OrgCallOptions,
  ) {}

  public async send<T = unknown>(request: TransportRequest): Promise<T> {
    const transport = {
      httpRequest: (outgoing: TransportRequest): TransportExchange => this.exchange(outgoing),
    };
    // jsforce's own retry is off: it skips POST and PATCH, and would hide exchanges from the caller.
    const options = { transport, retry: { maxRetries: 0, methods: [] } } as unknown as JsonMap;
    return this.connection.request<T>(request as Parameters<Connection['request']>[0], options);
  }

  private exchange(request: TransportRequest): TransportExchange {
    const body = new PassThrough();
    let promise: Promise<TransportResponse>;
    if (this.refused >= this.options.maxRefused) {
      promise = Promise.reject(new SessionKeptRefusedError());
    } else {
      const started = Date.now();
      promise = bufferedExchange(request, this.options.timeoutMs).then(
        (response) => {
          this.lastStatus = response.statusCode;
          if (response.statusCode === 401) this.refused++;
          else if (this.refused > 0) debugLog(`${request.method} sent again after jsforce refreshed the session`);
          this.options.onExchange?.(response.statusCode, started);
          return response;
        },
        (error: unknown) => {
          this.lastStatus = 0;
          this.options.onExchange?.(0, started);
          throw error;
        },
      );
    }
    promise.then(
      (response) => body.end(response.body),
      () => body.end(),
    );
    return Object.assign(promise, { stream: (): Readable => body });
  }
}

/** A GET through the door (e.g. the preflight's describes and limits); the path may be relative to the API version. */
export async function orgGet<T = unknown>(connection: Connection, url: string, timeoutMs = 120_000): Promise<T> {
  return new OrgCall(connection, { timeoutMs, maxRefused: 2 }).send<T>({ method: 'GET', url });
}

// ---------------------------------------------------------------------------------------------------
// Streamed exchanges, which jsforce cannot do the way a migration needs:
// - an upload whose body streams from a file and is never replayed from memory (jsforce pipes the
//   body into a request it may silently re-send without it after a 401, or re-send consumed after a 5xx);
// - a result download that streams to disk (jsforce reads every response body into one string).
// Callers add the token; nothing here logs or keeps it.

export type UploadOutcome =
  | (StreamedResponse & { kind: 'response'; bytesSent: number; bodyEnded: boolean })
  | { kind: 'failed'; error: Error; bytesSent: number; origin: 'network' | 'body' };

function idleTimeoutError(ms: number): Error {
  return timeoutError('IDLE_TIMEOUT', `no data moved for ${ms} ms`);
}

/**
 * PUTs `body` as it streams (chunked transfer: the length need not be known), on a connection of its
 * own. Resolves once the response has been read, or with `kind: 'failed'` when the exchange broke
 * before a response. The body is destroyed when the server answers before reading it all (e.g. a
 * 401), so no file handle is left open.
 */
export function putStream(
  url: URL,
  headers: OutgoingHttpHeaders,
  body: Readable,
  idleTimeoutMs: number,
): Promise<UploadOutcome> {
  const { proxy, agent } = route(url, true);
  const started = Date.now();
  return new Promise<UploadOutcome>((resolve) => {
    let bytesSent = 0;
    let bodyEnded = false;
    let settled = false;
    let responded = false;
    const stopBody = (): void => {
      if (!bodyEnded) {
        body.unpipe(request);
        body.destroy();
      }
    };
    const settle = (outcome: UploadOutcome): void => {
      if (settled) return;
      settled = true;
      stopBody();
      request.destroy();
      logExchange('PUT', url, outcome.kind === 'response' ? outcome.status : 0, started, proxy);
      resolve(outcome);
    };

    const request = clientFor(url).request(url, { method: 'PUT', headers, agent });
    request.setTimeout(idleTimeoutMs, () => request.destroy(idleTimeoutError(idleTimeoutMs)));
    request.on('error', (error) => {
      // After an early answer (a 401 before the body was read) the server may reset the socket
      // we are still writing to; the answer is what counts.
      if (!responded) settle({ kind: 'failed', error, bytesSent, origin: 'network' });
    });
    request.on('response', (response) => {
      responded = true;
      const ended = bodyEnded;
      stopBody();
      void readText(response).then((text) =>
        settle({
          kind: 'response',
          status: response.statusCode ?? 0,
          headers: response.headers,
          text,
          bytesSent,
          bodyEnded: ended,
        }),
      );
    });

    body.on('data', (chunk: Buffer | string) => {
      bytesSent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    });
    body.on('end', () => {
      bodyEnded = true;
    });
    body.on('error', (error) => {
      if (responded) return;
      settle({ kind: 'failed', error, bytesSent, origin: 'body' });
    });
    body.pipe(request);
  });
}

export type DownloadOutcome = StreamedResponse & { kind: 'response' };

/**
 * GETs `url`. A 200 body is handed to `consume` (which must read it to the end, e.g. into a file)
 * and the promise settles when `consume` does; any other status resolves with the start of its
 * body as text. Socket failures reject.
 */
export function getStream(
  url: URL,
  headers: OutgoingHttpHeaders,
  idleTimeoutMs: number,
  consume: (response: IncomingMessage) => Promise<void>,
): Promise<DownloadOutcome> {
  const { proxy, agent } = route(url, false);
  const started = Date.now();
  return new Promise<DownloadOutcome>((resolve, reject) => {
    const request = clientFor(url).request(url, { method: 'GET', headers, agent });
    request.setTimeout(idleTimeoutMs, () => request.destroy(idleTimeoutError(idleTimeoutMs)));
    let responded = false;
    request.on('error', (error) => {
      if (responded) return;
      logExchange('GET', url, 0, started, proxy);
      reject(error);
    });
    request.on('response', (response) => {
      responded = true;
      const status = response.statusCode ?? 0;
      if (status === 200) {
        consume(response).then(
          () => {
            logExchange('GET', url, status, started, proxy);
            resolve({ kind: 'response', status, headers: response.headers, text: '' });
          },
          (error: unknown) => {
            logExchange('GET', url, status, started, proxy);
            request.destroy();
            reject(error);
          },
        );
      } else {
        void readText(response).then((text) => {
          logExchange('GET', url, status, started, proxy);
          resolve({ kind: 'response', status, headers: response.headers, text });
        });
      }
    });
    request.end();
  });
}
