/*
 * Measures that the client streams: one big upload from a file and its big result download,
 * against a local org running in a child process (so only the client's memory is sampled here).
 * Not a test (no timing assertions); run it by hand:
 *
 *   node --import tsx test/bulk/measureStreaming.ts [megabytes, default 100]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AuthInfo, Connection } from '@salesforce/core';
import { IngestJobClient } from '../../src/bulk/ingestJobClient.js';

type ChildOrg = { instanceUrl: string; accessToken: string; username: string; orgId: string };

const megabytes = Number(process.argv[2] ?? 100);

async function writeCsv(file: string, bytes: number): Promise<number> {
  const out = createWriteStream(file);
  out.write('Name,Legacy_Id__c,Description\n');
  let written = 0;
  let rows = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++, rows++)
      lines.push(`"Account ${rows}, streamed",M-${rows},"row ${rows}\nsecond line"`);
    const text = `${lines.join('\n')}\n`;
    written += Buffer.byteLength(text);
    if (!out.write(text)) {
      // eslint-disable-next-line no-await-in-loop
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

async function main(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'bulk-measure-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('@sf-migrate/local-org').then(async (m) => { const o = await m.startLocalOrg(); console.log(JSON.stringify({ instanceUrl: o.instanceUrl, accessToken: o.accessToken, username: o.username, orgId: o.orgId })); })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const org = JSON.parse(line) as ChildOrg;
    const authInfo = await AuthInfo.create({
      accessTokenOptions: { ...org, loginUrl: org.instanceUrl, isDevHub: false, namespacePrefix: '' },
    });
    const client = new IngestJobClient(await Connection.create({ authInfo }), { apiVersion: '62.0' });

    const source = join(folder, 'accounts.csv');
    const rows = await writeCsv(source, megabytes * 1024 * 1024);
    const size = (await stat(source)).size;

    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const sampler = setInterval(sample, 20);
    const baseline = process.memoryUsage().rss;

    const job = await client.create({ object: 'Account', operation: 'insert' });
    let started = Date.now();
    const { bytes } = await client.upload(job.id, () => createReadStream(source));
    const uploadMs = Date.now() - started;
    const uploadPeak = peak;
    await client.close(job.id);
    const info = await client.poll(job.id, { initialMs: 500, maxMs: 2000 });
    peak = 0;
    started = Date.now();
    const saved = await client.saveResults(job.id, 'successful', join(folder, 'success.csv'));
    const downloadMs = Date.now() - started;
    clearInterval(sampler);
    sample();

    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
    process.stdout.write(
      [
        `source: ${rows} records, ${mb(size)}`,
        `upload: ${mb(bytes)} in ${uploadMs} ms; client RSS baseline ${mb(baseline)}, peak ${mb(uploadPeak)}`,
        `job: ${info.state}, ${info.numberRecordsProcessed ?? 0} processed, ${info.numberRecordsFailed ?? 0} failed`,
        `results: ${saved.records} records, ${mb(saved.bytes)} in ${downloadMs} ms; client RSS peak ${mb(peak)}`,
        '',
      ].join('\n'),
    );
    await client.delete(job.id);
  } finally {
    child.kill('SIGTERM');
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
