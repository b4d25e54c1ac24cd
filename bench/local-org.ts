/*
 * 1,000,000 Account rows through one Bulk API 2.0 ingest job of the local org (fast mode), uploaded by a
 * bare streaming HTTP client: the body is generated while it is sent, so neither side holds it whole.
 * Reports upload, processing and result-download times, and the peak RSS of this process (client and
 * server together). Run: node --import tsx bench/local-org.ts [rows]
 */
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { startLocalOrg } from '@sf-migrate/local-org';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const V = '/services/data/v62.0';

function* body(): Generator<string> {
  yield 'Name,Legacy_Id__c,Industry,NumberOfEmployees,Phone\n';
  const batch: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    batch.push(
      `"Account ${i}, Ltd",L${i},${i % 2 ? 'Banking' : 'Retail'},${i % 5000},+1 555 ${String(i).padStart(7, '0')}\n`,
    );
    if (batch.length === 5000) {
      yield batch.join('');
      batch.length = 0;
    }
  }
  if (batch.length) yield batch.join('');
}

const org = await startLocalOrg();
const headers = { Authorization: `Bearer ${org.accessToken}` };
const call = async (method: string, path: string, json?: unknown): Promise<Record<string, unknown>> => {
  const response = await fetch(`${org.instanceUrl}${V}${path}`, {
    method,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return (await response.json()) as Record<string, unknown>;
};

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);

const rssAtStartMB = Math.round(process.memoryUsage.rss() / 1e6);
const t0 = Date.now();
const job = await call('POST', '/jobs/ingest', { object: 'Account', operation: 'insert' });
let uploadedBytes = 0;
await new Promise<void>((resolve, reject) => {
  const req = request(
    `${org.instanceUrl}${V}/jobs/ingest/${String(job.id)}/batches`,
    { method: 'PUT', headers: { ...headers, 'Content-Type': 'text/csv' } },
    (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 201 ? resolve() : reject(new Error(`upload answered ${String(res.statusCode)}`)),
      );
    },
  );
  req.on('error', reject);
  const source = Readable.from(body());
  source.on('data', (chunk: string) => {
    uploadedBytes += Buffer.byteLength(chunk);
  });
  source.pipe(req);
});
const t1 = Date.now();
// the 57 MB body went to disk as it arrived: RSS after the upload stays near where it started
const rssAfterUploadMB = Math.round(process.memoryUsage.rss() / 1e6);
await call('PATCH', `/jobs/ingest/${String(job.id)}`, { state: 'UploadComplete' });
let info: Record<string, unknown>;
let polls = 0;
let sawInProgress = false;
for (;;) {
  // eslint-disable-next-line no-await-in-loop
  info = await call('GET', `/jobs/ingest/${String(job.id)}`);
  polls += 1;
  if (info.state === 'InProgress' && Number(info.numberRecordsProcessed) > 0) sawInProgress = true;
  if (info.state === 'JobComplete' || info.state === 'Failed') break;
  // eslint-disable-next-line no-await-in-loop
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const t2 = Date.now();
let resultBytes = 0;
const results = await fetch(`${org.instanceUrl}${V}/jobs/ingest/${String(job.id)}/successfulResults`, { headers });
for await (const chunk of results.body as unknown as AsyncIterable<Uint8Array>) resultBytes += chunk.length;
const t3 = Date.now();
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage.rss());

const figures = {
  rows: ROWS,
  uploadMB: +(uploadedBytes / 1e6).toFixed(1),
  state: info.state,
  processed: info.numberRecordsProcessed,
  failed: info.numberRecordsFailed,
  uploadSeconds: (t1 - t0) / 1000,
  processSeconds: (t2 - t1) / 1000,
  successResultsMB: +(resultBytes / 1e6).toFixed(1),
  downloadSeconds: (t3 - t2) / 1000,
  totalSeconds: (t3 - t0) / 1000,
  polls,
  sawInProgressWithPartialCounts: sawInProgress,
  rssAtStartMB,
  rssAfterUploadMB,
  peakRssMB: Math.round(peakRss / 1e6),
  storedAccounts: org.store.count('Account'),
  // a figure from a run in which the org failed on itself is not a figure
  internalErrors: org.stats().internalErrors,
};
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
await org.stop();
