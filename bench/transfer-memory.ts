/*
 * Peak memory of moving one job's data, for issue 11's memory target: the streamed upload of a
 * chunk (src/csv/upload.ts openChunkStream through src/bulk/jobData.ts uploadJobData), the streamed
 * download of its successful results with their record count (downloadResultOnce), and one read of
 * the saved result file row by row (src/engine/resultFiles.ts readResultRows, as the accounting and
 * verify read them). The org is a bare loopback server in a child process (a sink for the PUT, a
 * generator of `<rows>` result rows for the GET), so this process holds only the client's memory.
 * Prints rows and the peak RSS (VmHWM) before and after each stage.
 *
 *   node --import tsx bench/transfer-memory.ts <rows> [dir]
 *
 * The chunk is <dir>/contacts-<rows>.csv (written by bench/partition-memory.mjs when missing).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BulkTransport } from '../src/bulk/bulkTransport.js';
import { downloadResultOnce, uploadJobData } from '../src/bulk/jobData.js';
import { readCsvHeader } from '../src/csv/header.js';
import { openChunkStream } from '../src/csv/upload.js';
import { readResultRows } from '../src/engine/resultFiles.js';
import { contactsSource, peakMb } from './memorySource.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const dir = resolve(process.argv[3] ?? '/tmp');
const source = contactsSource(rows, dir);

// the org: PUT bodies are read and dropped; a GET answers `rows` successful result rows, generated as sent
const serverCode = `
const rows = Number(process.argv[1]);
require('node:http').createServer((req, res) => {
  if (req.method === 'PUT') {
    req.resume();
    req.on('end', () => { res.writeHead(201); res.end(); });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/csv' });
  res.write('"sf__Id","sf__Created","LastName","Email","Legacy_Id__c","Account.Legacy_Id__c"\\n');
  let i = 0;
  const more = () => {
    while (i < rows) {
      let block = '';
      for (let k = 0; k < 2000 && i < rows; k++, i++) {
        block += '"003' + String(i).padStart(15, '0') + '","true","Contact ' + i + '","c' + i + '@example.com",';
        block += '"C-' + i + '","A-' + (i % 997) + '"\\n';
      }
      if (!res.write(block)) return res.once('drain', more);
    }
    res.end();
  };
  more();
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });
`;
const server = spawn(process.execPath, ['-e', serverCode, String(rows)], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(server.stdout, 'data')) as [Buffer];
const base = `http://127.0.0.1:${portLine.toString().trim()}`;

// the transport's part in these two calls: URLs, headers, accounting
const transport = {
  connection: { accessToken: 'bench' },
  idleTimeoutMs: 60_000,
  jobUrl: (suffix: string) => new URL(`/services/data/v62.0/jobs/ingest${suffix}`, base),
  rawHeaders: (_token: string | undefined, extra: Record<string, string>) => ({ ...extra }),
  emitRequest: () => undefined,
  refreshSession: () => Promise.resolve(),
} as unknown as BulkTransport;

try {
  const header = await readCsvHeader(source, 'COMMA');
  const chunk = { file: source, byteStart: header.byteLength, byteEnd: statSync(source).size, records: rows };
  const options = { header, delimiter: 'COMMA' as const, lineEnding: 'LF' as const, mapping: {} };
  const start = peakMb();
  const upload = await uploadJobData(transport, 'job', () => openChunkStream(chunk, options));
  const uploaded = peakMb();
  const partial = join(dir, `results-${rows}.csv`);
  const saved = await downloadResultOnce(
    transport,
    'job',
    'successful',
    transport.jobUrl('/job/successfulResults'),
    partial,
  );
  const downloaded = peakMb();
  let read = -1;
  for await (const row of readResultRows(partial, 'COMMA')) if (row.length > 0) read++;
  rmSync(partial, { force: true });
  process.stdout.write(
    `${JSON.stringify({
      rows,
      uploadedMB: Math.round(upload.bytes / 1024 / 1024),
      resultRows: saved.records,
      resultRowsRead: read,
      startPeakRssMB: start,
      afterUploadPeakRssMB: uploaded,
      afterDownloadPeakRssMB: downloaded,
      peakRssMB: peakMb(),
    })}\n`,
  );
} finally {
  server.kill();
}
