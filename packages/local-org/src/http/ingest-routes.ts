/* eslint-disable no-param-reassign -- job records are the mutable state this server owns */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, notFound } from '../api-error.js';
import type { Faults } from '../faults.js';
import type { IngestJob } from '../ingest-job.js';
import type { IngestJobs } from '../ingest.js';
import { createdIngestJobInfo, ingestJobInfo, listedIngestJob, listPage, shortJobInfo } from './documents.js';
import {
  dropConnection,
  json,
  limitHeader,
  noContent,
  readJson,
  responseDropped,
  type ApiRequest,
  type CountRoute,
  type Exchange,
} from './exchange.js';

type ResultKind = 'success' | 'failed' | 'unprocessed';
const RESULT_KINDS: Record<string, ResultKind> = {
  successfulResults: 'success',
  failedResults: 'failed',
  unprocessedrecords: 'unprocessed',
};

class UploadDropped extends Error {}

/** Bulk API 2.0 ingest jobs over HTTP: create, list, info, state, delete, the upload and the result files. */
export class IngestRoutes {
  public constructor(
    private readonly ingest: IngestJobs,
    private readonly faults: Faults,
    private readonly count: CountRoute,
  ) {}

  /** …/jobs/ingest and below; `parts` is the path after jobs/ingest. */
  public async handle({ x, method, parts, version, query, userId }: ApiRequest): Promise<void> {
    const { ingest } = this;
    const route = (name: string): void => this.count(`${method} jobs/ingest${name}`);
    if (parts.length === 0) {
      route('');
      if (method === 'POST') {
        const job = ingest.create(await readJson(x.req), Number(version), userId);
        await ingest.save(job);
        return json(x, 200, createdIngestJobInfo(job, version));
      }
      if (method === 'GET') {
        const all = [...ingest.jobs.values()].map((j) => listedIngestJob(j, version));
        return json(x, 200, listPage(all, 'ingest', version, query));
      }
      throw notFound();
    }
    const job = ingest.get(parts[0]);
    if (parts.length === 1) {
      route('/:id');
      if (method === 'GET') {
        ingest.report?.polled(job.id, job.state);
        return json(x, 200, ingestJobInfo(job, version));
      }
      if (method === 'PATCH') {
        const body = await readJson(x.req);
        return json(x, 200, shortJobInfo(await ingest.changeState(job, body.state)));
      }
      if (method === 'DELETE') {
        await ingest.delete(job);
        return noContent(x);
      }
      throw notFound();
    }
    const resource = parts[1];
    if (parts.length === 2 && resource === 'batches' && method === 'PUT') {
      route('/:id/batches');
      return this.upload(x, job);
    }
    if (parts.length === 2 && resource in RESULT_KINDS && method === 'GET') {
      route(`/:id/${resource}`);
      return this.sendResults(x, job, RESULT_KINDS[resource]);
    }
    route('/:id/unknown');
    throw notFound();
  }

  /** PUT …/batches: streams the body into the job's upload file, counting bytes against the upload limit. */
  private async upload(x: Exchange, job: IngestJob): Promise<void> {
    const { ingest, faults } = this;
    ingest.beginUpload(job);
    job.uploaded = true; // a concurrent second PUT is refused while this one streams
    const file = ingest.uploadFile(job);
    await mkdir(dirname(file), { recursive: true });
    const length = Number(x.req.headers['content-length'] ?? 0);
    const dropAt = faults.chance(faults.value.dropUploadRate)
      ? 1 + Math.floor(faults.draw() * Math.max(length, 1))
      : undefined;
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
      // The body ended before the drop point: lose the response instead.
      if (dropAt !== undefined) throw new UploadDropped();
    } catch (error) {
      // The spool goes before the job takes a new upload, so a retried PUT never loses its file to this rm.
      await rm(file, { force: true });
      job.uploaded = false;
      dropConnection(x);
      this.count(error instanceof UploadDropped ? 'dropped upload' : 'aborted upload');
      return;
    } finally {
      ingest.markUploading(job, false);
    }
    if (tooLarge) {
      await rm(file, { force: true });
      job.uploaded = false;
      throw new ApiError(
        400,
        'EXCEEDED_QUOTA',
        `The upload of job ${job.id} exceeds the maximum of ${maxBytes} bytes: split the data into several jobs`,
      );
    }
    await ingest.finishUpload(job);
    if (responseDropped(x)) return;
    x.res.writeHead(201, { 'Content-Length': 0, ...limitHeader(x) });
    x.res.end();
  }

  /** Streams a result file from disk; before processing wrote one, the file is its header alone. */
  private async sendResults(x: Exchange, job: IngestJob, kind: ResultKind): Promise<void> {
    // A job that reached its end state may still be writing its last result rows (a failed job's rows left
    // unprocessed): its files are answered once they are whole.
    if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted')
      await this.ingest.settled(job);
    if (responseDropped(x)) return;
    const headers = { 'Content-Type': 'text/csv', ...limitHeader(x) };
    const stream = createReadStream(this.ingest.resultFile(job, kind));
    stream.once('error', () => {
      if (x.res.headersSent) return void x.res.destroy();
      x.res.writeHead(200, headers);
      x.res.end(this.ingest.resultHeader(job, kind));
    });
    stream.once('open', () => {
      x.res.writeHead(200, headers);
      stream.pipe(x.res);
    });
  }
}
