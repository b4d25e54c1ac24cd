/*
 * Writes the input of bench/plan-memory.sh: one large Account CSV (default 1 GB) of varied records
 * (quoted commas, quotes and line breaks among them) and a manifest that loads it, so the compiled
 * `sf migrate plan` can be measured on it. Streamed: writing it needs no more memory than a record.
 *
 *   node --import tsx bench/plan-memory.ts --out /tmp/sf-migrate-bench --bytes 1000000000
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '/tmp/sf-migrate-bench' },
    bytes: { type: 'string', default: '1000000000' },
  },
});
const out = resolve(values.out);
const target = Number(values.bytes);
mkdirSync(out, { recursive: true });

const descriptions = [
  '',
  'Key account, renewal due in Q3',
  'Migrated from SiebelCRM.\nPrefers email, not phone.',
  'Known as "the big one" internally',
  '',
  'Two sites:\r\nHQ and warehouse',
];
const cities = ['San Francisco', 'München', 'São Paulo', 'Zürich', 'Tokyo', 'Dublin', 'Lagos'];
const quote = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

const file = join(out, 'accounts.csv');
const stream = createWriteStream(file);
stream.write('Legacy_Id__c,Name,Industry,BillingStreet,BillingCity,AnnualRevenue,NumberOfEmployees,Description\n');
let written = 0;
let records = 0;
while (written < target) {
  records++;
  const line =
    [
      `ACC-${String(records).padStart(10, '0')}`,
      quote(records % 13 === 0 ? `Smith, Jones & Partners ${records}` : `Account ${records} Holdings`),
      ['Banking', 'Energy', 'Retail', 'Technology'][records % 4],
      quote(records % 7 === 0 ? `${records % 999} Market St\nSuite ${records % 90}` : `${records % 999} Main Street`),
      cities[records % cities.length],
      String((records % 5000) * 10_000),
      String(records % 20_000),
      quote(descriptions[records % descriptions.length]),
    ].join(',') + '\n';
  written += Buffer.byteLength(line);
  // eslint-disable-next-line no-await-in-loop -- wait for the disk whenever the buffer is full
  if (!stream.write(line)) await once(stream, 'drain');
}
stream.end();
await once(stream, 'finish');

const manifest = join(out, 'migration.json');
writeFileSync(
  manifest,
  `${JSON.stringify(
    {
      name: 'plan-memory-bench',
      defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
      steps: [{ id: 'accounts', object: 'Account', source: 'accounts.csv' }],
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`${records} records, ${written} bytes of data in ${file}\nmanifest ${manifest}\n`);
