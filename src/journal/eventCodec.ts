/*
 * One journal line <-> one event. Writing keeps only the fields the protocol defines (so an object
 * that happens to carry a connection, a token or a whole job record cannot smuggle it onto disk)
 * and masks anything credential-shaped in free text; reading checks every field, so replay never
 * works on a half-understood event.
 */
import type { JournalEvent, JournalEventBody, JournalEventType } from './events.js';

type Kind =
  | 'string'
  | 'id'
  | 'text'
  | 'count'
  | 'number'
  | 'strings'
  | 'countMap'
  | 'jobState'
  | 'gate'
  | 'operation'
  | 'runStatus'
  | 'lane'
  | { shape: Shape }
  | { items: Shape };
type Field = { kind: Kind; optional?: true };
type Shape = { [field: string]: Field };

const req = (kind: Kind): Field => ({ kind });
const opt = (kind: Kind): Field => ({ kind, optional: true });

type FieldsOf<T extends JournalEventType> = Exclude<keyof Extract<JournalEventBody, { type: T }>, 'type'>;

const chunkRef = { step: req('string'), chunk: req('count') };
const counts = { success: req('count'), failed: req('count'), unprocessed: req('count') };

/**
 * Every field of every event type. The mapped type makes the compiler insist that each field of
 * events.ts is listed here and that nothing else is, so a field added to the vocabulary cannot be
 * silently dropped (or a stray one silently written).
 */
const EVENT_SHAPES: { [T in JournalEventType]: { [F in FieldsOf<T>]-?: Field } } = {
  'run.started': {
    runId: req('string'),
    manifest: req('string'),
    manifestSha256: req('string'),
    username: req('string'),
    orgId: req('id'),
    instanceUrl: req('string'),
    apiVersion: req('string'),
    sources: req({
      items: { file: req('string'), size: req('count'), mtimeMs: req('number'), sha256: req('string') },
    }),
    rollbackOf: opt('string'),
  },
  'run.resumed': { pid: req('count'), host: req('string') },
  'wave.started': { wave: req('count'), steps: req('strings') },
  'step.started': { step: req('string'), wave: req('count'), object: req('string'), operation: req('operation') },
  'source.partitioned': {
    step: req('string'),
    source: req('string'),
    with: opt('strings'),
    column: req('string'),
    files: req({
      items: {
        file: req('string'),
        size: req('count'),
        mtimeMs: req('number'),
        sha256: req('string'),
        lane: req('lane'),
        records: req('count'),
        chain: opt('count'),
      },
    }),
  },
  'lookup.snapshot': {
    lookup: req('string'),
    object: req('string'),
    query: req('string'),
    records: req('count'),
    file: req('string'),
    size: req('count'),
    mtimeMs: req('number'),
    sha256: req('string'),
  },
  'source.prepared': {
    step: req('string'),
    source: req('string'),
    file: req({
      shape: {
        file: req('string'),
        size: req('count'),
        mtimeMs: req('number'),
        sha256: req('string'),
        records: req('count'),
      },
    }),
    rejected: req({ items: { file: req('string'), records: req('count') } }),
  },
  'chunk.planned': {
    ...chunkRef,
    file: req('string'),
    byteStart: req('count'),
    byteEnd: req('count'),
    records: req('count'),
    attempt: req('count'),
    retryOf: opt({ shape: chunkRef }),
    sha256: opt('string'),
  },
  'before.saved': {
    ...chunkRef,
    file: req('string'),
    size: req('count'),
    sha256: req('string'),
    records: req('count'),
  },
  'job.creating': { ...chunkRef },
  'job.created': { ...chunkRef, jobId: req('id') },
  'job.uploaded': { ...chunkRef, jobId: req('id'), bytes: req('count') },
  'job.closing': { ...chunkRef, jobId: req('id') },
  'job.closed': { ...chunkRef, jobId: req('id') },
  'job.aborted': { ...chunkRef, jobId: req('id'), reason: req('text') },
  'job.finished': {
    ...chunkRef,
    jobId: req('id'),
    state: req('jobState'),
    processed: req('count'),
    failed: req('count'),
    errorMessage: opt('text'),
  },
  'results.saved': {
    ...chunkRef,
    jobId: req('id'),
    files: req({ shape: { success: req('string'), failed: req('string'), unprocessed: req('string') } }),
    counts: req({ shape: counts }),
  },
  'job.deleted': { ...chunkRef, jobId: req('id') },
  'step.finished': {
    step: req('string'),
    records: req('count'),
    succeeded: req('count'),
    failed: req('count'),
    unprocessed: req('count'),
    jobs: req('count'),
    gate: req('gate'),
    reason: opt('text'),
    failuresByCode: opt('countMap'),
    retryRounds: opt('count'),
    durationMs: opt('count'),
    deadLetters: opt('strings'),
  },
  'wave.finished': { wave: req('count'), gate: req('gate') },
  'job.ignored': { jobId: req('id'), reason: req('text') },
  'run.finished': { status: req('runStatus'), reason: opt('text') },
};

const ENUMS: Record<string, ReadonlySet<string>> = {
  jobState: new Set(['Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted']),
  gate: new Set(['passed', 'failed']),
  operation: new Set(['insert', 'update', 'upsert', 'delete', 'hardDelete']),
  runStatus: new Set(['succeeded', 'completedWithFailures', 'failed']),
  lane: new Set(['grouped', 'serial']),
};

export const REDACTED = '[redacted]';

/**
 * Credential shapes that can reach free text through an error message: a Salesforce session id
 * (org id, '!', opaque token), an HTTP Authorization header, and OAuth form or JSON fields.
 */
const SESSION_ID = /\b00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?![A-Za-z0-9._\-+/=]+/;
const AUTHORIZATION = /\b(Bearer|OAuth)\s+[A-Za-z0-9._\-+/=!~]{8,}/i;
const SECRET_FIELD =
  /\b(access_token|accessToken|refresh_token|refreshToken|client_secret|password|sessionId|sid)(["']?\s*[:=]\s*["']?)[^\s"'&,}]+/i;

const global = (pattern: RegExp): RegExp => new RegExp(pattern.source, `${pattern.flags}g`);
const REDACTIONS: Array<[RegExp, string]> = [
  [global(SESSION_ID), REDACTED],
  [global(AUTHORIZATION), `$1 ${REDACTED}`],
  [global(SECRET_FIELD), `$1$2${REDACTED}`],
];

/** Masks credential-shaped substrings; exported so other writers of free text (logs, dead letters) can share it. */
export function redactCredentials(text: string): string {
  let out = text;
  for (const [pattern, replacement] of REDACTIONS) out = out.replace(pattern, replacement);
  return out;
}

/** true when a value holds a session id or an Authorization header value */
export function looksLikeCredential(text: string): boolean {
  return SESSION_ID.test(text) || AUTHORIZATION.test(text);
}

const SALESFORCE_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

export class EventShapeError extends Error {
  public constructor(
    public readonly path: string,
    public readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function convertScalar(value: unknown, kind: string, path: string, writing: boolean): unknown {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw new EventShapeError(path, 'expected a string');
      // a structural field is never altered (a changed path would break resume): refuse instead
      if (writing && looksLikeCredential(value)) throw new EventShapeError(path, 'looks like a credential');
      return value;
    case 'id':
      if (typeof value !== 'string' || !SALESFORCE_ID.test(value)) {
        throw new EventShapeError(path, 'expected a 15- or 18-character Salesforce id');
      }
      return value;
    case 'text':
      if (typeof value !== 'string') throw new EventShapeError(path, 'expected a string');
      return writing ? redactCredentials(value) : value;
    case 'count':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new EventShapeError(path, 'expected a whole number >= 0');
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new EventShapeError(path, 'expected a number');
      return value;
    default:
      if (typeof value !== 'string' || !ENUMS[kind].has(value)) {
        throw new EventShapeError(path, `expected one of ${[...ENUMS[kind]].join(', ')}`);
      }
      return value;
  }
}

function convert(value: unknown, kind: Kind, path: string, writing: boolean): unknown {
  if (typeof kind === 'object') {
    if ('shape' in kind) return convertShape(value, kind.shape, path, writing);
    if (!Array.isArray(value)) throw new EventShapeError(path, 'expected an array');
    return value.map((item, i) => convertShape(item, kind.items, `${path}[${i}]`, writing));
  }
  if (kind === 'strings') {
    if (!Array.isArray(value)) throw new EventShapeError(path, 'expected an array of strings');
    return value.map((item, i) => convertScalar(item, 'string', `${path}[${i}]`, writing));
  }
  if (kind === 'countMap') {
    if (!isPlainObject(value)) throw new EventShapeError(path, 'expected an object of counts');
    const out: Record<string, unknown> = {};
    for (const [key, count] of Object.entries(value))
      out[key] = convertScalar(count, 'count', `${path}.${key}`, writing);
    return out;
  }
  return convertScalar(value, kind, path, writing);
}

function convertShape(value: unknown, shape: Shape, path: string, writing: boolean): Record<string, unknown> {
  if (!isPlainObject(value)) throw new EventShapeError(path, 'expected an object');
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(shape)) {
    const fieldValue = value[name];
    if (fieldValue === undefined) {
      if (field.optional) continue;
      throw new EventShapeError(`${path}.${name}`, 'missing');
    }
    out[name] = convert(fieldValue, field.kind, `${path}.${name}`, writing);
  }
  return out;
}

function shapeOf(type: unknown): Shape {
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(EVENT_SHAPES, type)) {
    throw new EventShapeError('type', `unknown event type ${JSON.stringify(type)}`);
  }
  return EVENT_SHAPES[type as JournalEventType] as Shape;
}

/**
 * The stored form of an event: seq, time and type first (easy to read with `head`), then exactly
 * the protocol's fields. Throws EventShapeError when the body does not match its type.
 */
export function toStoredEvent(body: JournalEventBody, seq: number, time: string): JournalEvent {
  const fields = convertShape(body, shapeOf(body.type), body.type, true);
  return { seq, time, type: body.type, ...fields } as JournalEvent;
}

/** Parses and checks one line. Throws EventShapeError (or SyntaxError) when it is not a valid event. */
export function parseEventLine(line: string): JournalEvent {
  return checkEvent(JSON.parse(line));
}

function checkEvent(value: unknown): JournalEvent {
  if (!isPlainObject(value)) throw new EventShapeError('line', 'expected a JSON object');
  const shape = shapeOf(value.type);
  if (typeof value.seq !== 'number' || !Number.isSafeInteger(value.seq) || value.seq < 1) {
    throw new EventShapeError('seq', 'expected a whole number >= 1');
  }
  if (typeof value.time !== 'string') throw new EventShapeError('time', 'expected a string');
  convertShape(value, shape, String(value.type), false);
  return value as JournalEvent;
}

/**
 * What a line is. `torn` is not JSON at all: what a crash leaves (a cut-off write, zeros from a
 * power cut). `invalid` is JSON that is not an event of this protocol: no crash writes that, so it
 * is never repaired away, even at the end of the file.
 */
export type LineReading = { event: JournalEvent } | { torn: string } | { invalid: string };

export function readEventLine(line: string): LineReading {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { torn: error instanceof Error ? error.message : String(error) };
  }
  try {
    return { event: checkEvent(value) };
  } catch (error) {
    return { invalid: error instanceof Error ? error.message : String(error) };
  }
}

function fieldPaths(shape: Shape, prefix: string): string[] {
  return Object.entries(shape).flatMap(([name, field]) => {
    const path = `${prefix}${name}`;
    const kind = field.kind;
    if (typeof kind === 'object') return [path, ...fieldPaths('shape' in kind ? kind.shape : kind.items, `${path}.`)];
    return [path];
  });
}

/** Every field path each event type can carry (nested ones dotted): what can ever reach the disk. */
export function protocolFieldPaths(): Record<JournalEventType, string[]> {
  const out = {} as Record<JournalEventType, string[]>;
  for (const type of Object.keys(EVENT_SHAPES) as JournalEventType[]) {
    out[type] = fieldPaths(EVENT_SHAPES[type] as Shape, '');
  }
  return out;
}
