import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from '../api-error.js';

/** One request and its response, as the routes see them. */
export type Exchange = {
  req: IncomingMessage;
  res: ServerResponse;
  /**
   * The connection, kept from the start: when a pipeline or a body's async iterator fails, Node detaches
   * the request from it (node:internal/streams/destroy sets req.socket = null for a server request, so
   * that the response can still be written), yet a drop must still close it.
   */
  socket: Socket;
  /** the response must be lost: a dropped connection after the work was done (dropConnectionRate fault) */
  dropResponse: boolean;
  /** the Sforce-Limit-Info header of an API answer */
  limitInfo?: string;
};

/** A request to an API resource (below /services/data/vNN.N/), split for the route modules. */
export type ApiRequest = {
  x: Exchange;
  method: string;
  /** the path below the version, split on '/' */
  parts: string[];
  /** 'NN.N' */
  version: string;
  query: URLSearchParams;
  /** the user of the request's session: the user its writes are made as */
  userId: string;
};

/** Counts a request under a route name in the org's stats. */
export type CountRoute = (route: string) => void;

export const newExchange = (req: IncomingMessage, res: ServerResponse): Exchange => ({
  req,
  res,
  socket: req.socket,
  dropResponse: false,
});

/** Destroys the connection: the client sees it closed without an answer. */
export function dropConnection(x: Exchange): void {
  x.socket.destroy();
}

/** True (and the connection dropped) when this response must be lost. */
export function responseDropped(x: Exchange): boolean {
  if (!x.dropResponse) return false;
  dropConnection(x);
  return true;
}

export const limitHeader = (x: Exchange): Record<string, string> =>
  x.limitInfo ? { 'Sforce-Limit-Info': x.limitInfo } : {};

export function json(x: Exchange, status: number, body: unknown): void {
  if (responseDropped(x)) return;
  const text = JSON.stringify(body);
  x.res.writeHead(status, {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    ...limitHeader(x),
  });
  x.res.end(text);
}

export const apiError = (x: Exchange, status: number, errorCode: string, message: string): void =>
  json(x, status, [{ errorCode, message }]);

/** 204, the answer to a DELETE. */
export function noContent(x: Exchange): void {
  if (responseDropped(x)) return;
  x.res.writeHead(204);
  x.res.end();
}

export async function readJson(req: IncomingMessage, maxBytes = 1_000_000): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new ApiError(400, 'JSON_PARSER_ERROR', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const body = JSON.parse(text || '{}') as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body as Record<string, unknown>;
  } catch (error) {
    throw new ApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected character in the JSON request body: ${(error as Error).message}`,
    );
  }
}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
