/*
 * A plain HTTP forward proxy on loopback, for the tests that prove every exchange with an org goes
 * through the user's proxy. A client configured with it sends request lines in absolute form
 * (`PUT http://127.0.0.1:1234/services/... HTTP/1.1`); the proxy logs each one as it arrives, then
 * forwards it, body and answer streamed, to its target. Targets must be on loopback (tests talk only
 * to loopback): any other is refused 403 and logged as refused. CONNECT (the tunnel a client opens
 * for an https:// target) is not needed for the loopback http:// org: it is answered 405 and logged,
 * so a test sees it if anything tries one.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export type ProxiedRequest = {
  method: string;
  /** the absolute URL of the request line (CONNECT: host:port) */
  target: string;
  /** false when the proxy refused to forward it */
  forwarded: boolean;
};

export type ForwardProxy = {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** every request line received, in arrival order */
  readonly log: ProxiedRequest[];
  stop(): Promise<void>;
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Headers meant for the hop between client and proxy; never forwarded. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'upgrade']);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_HEADERS.has(name.toLowerCase())));
}

function forward(req: IncomingMessage, res: ServerResponse, log: ProxiedRequest[], credentials?: string): void {
  const method = req.method ?? 'GET';
  const line = req.url ?? '';
  if (credentials && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
    log.push({ method, target: line, forwarded: false });
    req.resume();
    res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-type': 'text/plain' });
    res.end('proxy credentials required\n');
    return;
  }
  let target: URL | undefined;
  try {
    target = /^https?:\/\//i.test(line) ? new URL(line) : undefined;
  } catch {
    target = undefined;
  }
  if (!target || target.protocol !== 'http:' || !LOOPBACK.has(target.hostname)) {
    log.push({ method, target: line, forwarded: false });
    req.resume();
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('this test proxy forwards only to http:// on loopback\n');
    return;
  }
  log.push({ method, target: line, forwarded: true });
  const pathAt = line.indexOf('/', line.indexOf('//') + 2);
  const upstream = http.request({
    host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: target.port || 80,
    method,
    // the path as the client wrote it: the sf CLI's instance URL gives paths like //services/...
    path: pathAt < 0 ? '/' : line.slice(pathAt),
    headers: forwardable(req.headers),
    agent: false,
  });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream failed\n');
    }
  });
  // the client went away (an aborted upload): so does the upstream exchange
  req.on('error', () => upstream.destroy());
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** `credentials` ("user:password"): every request without them as Basic Proxy-Authorization gets 407. */
export async function startForwardProxy(options: { credentials?: string } = {}): Promise<ForwardProxy> {
  const log: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => forward(req, res, log, options.credentials));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    log.push({ method: 'CONNECT', target: req.url ?? '', forwarded: false });
    socket.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
