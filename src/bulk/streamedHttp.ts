/*
 * The two exchanges jsforce cannot do the way a migration needs, done with node:http(s):
 * - an upload whose body streams from a file and is never replayed from memory (jsforce pipes the
 *   body into a request it may silently re-send without it after a 401, or re-send consumed after
 *   a 5xx);
 * - a result download that streams to disk (jsforce reads every response body into one string).
 * Callers add the token; nothing here logs or keeps it.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/** How much of an error body is kept: enough for the JSON error array, never a whole file. */
const MAX_ERROR_BODY = 64 * 1024;

export type StreamedResponse = { status: number; headers: IncomingHttpHeaders; text: string };

export type UploadOutcome =
  | (StreamedResponse & { kind: 'response'; bytesSent: number; bodyEnded: boolean })
  | { kind: 'failed'; error: Error; bytesSent: number; origin: 'network' | 'body' };

function idleTimeoutError(ms: number): Error {
  const error = new Error(`no data moved for ${ms} ms`) as Error & { code: string };
  error.code = 'IDLE_TIMEOUT';
  return error;
}

function clientFor(url: URL): typeof http | typeof https {
  return url.protocol === 'https:' ? https : http;
}

async function readText(response: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let kept = 0;
  try {
    for await (const chunk of response) {
      const buffer = chunk as Buffer;
      if (kept < MAX_ERROR_BODY) {
        parts.push(buffer.subarray(0, MAX_ERROR_BODY - kept));
        kept += Math.min(buffer.length, MAX_ERROR_BODY - kept);
      }
    }
  } catch {
    // The status line already tells what happened; a body cut short only loses detail.
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * PUTs `body` as it streams (chunked transfer: the length need not be known). Resolves once the
 * response has been read, or with `kind: 'failed'` when the exchange broke before a response. The
 * body is destroyed when the server answers before reading it all (e.g. a 401), so no file handle
 * is left open.
 */
export function putStream(
  url: URL,
  headers: OutgoingHttpHeaders,
  body: Readable,
  idleTimeoutMs: number,
): Promise<UploadOutcome> {
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
      resolve(outcome);
    };

    // A fresh connection per upload: a kept-alive socket the server has just closed would turn
    // into a failed upload (and a new job) for no reason.
    const request = clientFor(url).request(url, { method: 'PUT', headers, agent: false });
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
  return new Promise<DownloadOutcome>((resolve, reject) => {
    const request = clientFor(url).request(url, { method: 'GET', headers });
    request.setTimeout(idleTimeoutMs, () => request.destroy(idleTimeoutError(idleTimeoutMs)));
    let responded = false;
    request.on('error', (error) => {
      if (!responded) reject(error);
    });
    request.on('response', (response) => {
      responded = true;
      const status = response.statusCode ?? 0;
      if (status === 200) {
        consume(response).then(
          () => resolve({ kind: 'response', status, headers: response.headers, text: '' }),
          (error: unknown) => {
            request.destroy();
            reject(error);
          },
        );
      } else {
        void readText(response).then((text) => resolve({ kind: 'response', status, headers: response.headers, text }));
      }
    });
    request.end();
  });
}
