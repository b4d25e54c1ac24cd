/*
 * Issue 10's rehearsal in one source, through the compiled plugin: Leads owned through the
 * polymorphic `User:Owner.Username`, with LF, CRLF and lone-CR record ends mixed in one file, and
 * duplicate external ids: twice inside one internal chunk of 200 rows (a real org fails both rows,
 * DUPLICATE_VALUE) and in two different chunks (both load, the later wins). `validate --scan`
 * reports both duplicates with their file:line; `run` loads the rest as the local org, following
 * those real-org rules (reference §3, §4), says.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunResult } from '../../src/commands/migrate/run.js';
import type { ValidateResult } from '../../src/commands/migrate/validate.js';
import { useNutSession } from '../helpers/localOrg.js';

const ENDINGS = ['\n', '\r\n', '\r'];
const ROWS = 300;
/** rows (1-based) sharing a key inside the first chunk of 200, and across the first and the second */
const SAME_CHUNK = [10, 20];
const ACROSS_CHUNKS = [50, 260];

function leadKey(row: number): string {
  if (SAME_CHUNK.includes(row)) return 'L-SAME-CHUNK';
  if (ACROSS_CHUNKS.includes(row)) return 'L-ACROSS';
  return `L-${row}`;
}

function leadName(row: number): string {
  if (row === ACROSS_CHUNKS[0]) return 'Earlier';
  if (row === ACROSS_CHUNKS[1]) return 'Later';
  return `Lead ${row}`;
}

describe('a rehearsal a real org would repeat: mixed line endings, polymorphic owners, duplicate keys', () => {
  const nut = useNutSession('fidelity');

  it('scan reports the duplicates where they are, and run loads the rest by the real org`s rules', async () => {
    const dir = nut.testDir;
    const source = join(dir, 'leads.csv');
    let text = 'LastName,Company,Legacy_Id__c,User:Owner.Username\r\n';
    for (let row = 1; row <= ROWS; row++) {
      text += `${leadName(row)},"Company ${row}",${leadKey(row)},${nut.org.username}${ENDINGS[row % 3]}`;
    }
    writeFileSync(source, text);
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'fidelity',
        defaults: { poll: { initial: '100ms', max: '1s' } },
        steps: [
          {
            id: 'leads',
            object: 'Lead',
            source: 'leads.csv',
            operation: 'upsert',
            externalIdField: 'Legacy_Id__c',
            // the two rows sharing a key inside one chunk fail, as in a real org
            failureThreshold: { records: 2 },
          },
        ],
      }),
    );

    // the header is line 1, so row n starts on line n + 1 (a lone CR ends a line too)
    const scan = (await nut.sf<ValidateResult>(`migrate validate --manifest ${manifest} --scan --json`, { code: 1 }))
      .jsonOutput!.result;
    const duplicates = scan.scan!.steps[0].duplicates.shown.map((duplicate) => [
      duplicate.key,
      duplicate.locations.map((location) => `${location.file}:${location.line}`),
    ]);
    expect(duplicates).to.have.deep.members([
      ['L-SAME-CHUNK', SAME_CHUNK.map((row) => `${source}:${row + 1}`)],
      ['L-ACROSS', ACROSS_CHUNKS.map((row) => `${source}:${row + 1}`)],
    ]);
    // nothing else is wrong with it: the polymorphic column and the mixed endings are fine
    expect(scan.errors.map((problem) => problem.code)).to.deep.equal(['DuplicateRecordKey', 'DuplicateRecordKey']);
    // the users must already be in the org: said, not refused
    expect(scan.warnings.map((problem) => problem.code)).to.deep.equal(['ParentWithoutStep']);

    // completed with failures (the two rows of the chunk): exit 68
    const run = (await nut.sf<RunResult>(`migrate run --manifest ${manifest} --target-org local --json`, { code: 68 }))
      .jsonOutput!;
    const [step] = run.result.steps;
    expect(step).to.include({ records: ROWS, succeeded: ROWS - 2, failed: 2 });

    const leads = nut.org.store.records('Lead');
    // 300 rows, 2 failed, 2 landed on one record
    expect(leads).to.have.length(ROWS - 3);
    expect(leads.filter((lead) => lead.Legacy_Id__c === 'L-SAME-CHUNK')).to.deep.equal([]);
    const across = leads.filter((lead) => lead.Legacy_Id__c === 'L-ACROSS');
    expect(across.map((lead) => lead.LastName)).to.deep.equal(['Later']);
    const owner = nut.org.store.records('User').find((user) => user.Username === nut.org.username)!;
    expect(new Set(leads.map((lead) => lead.OwnerId))).to.deep.equal(new Set([owner.Id]));
    // every value arrived whole: no stray CR at the end of the last column or anywhere else
    expect(leads.every((lead) => Object.values(lead).every((value) => !String(value).includes('\r')))).to.equal(true);

    const dead = readFileSync(join(run.result.runDir, 'dead-letter', 'leads.csv'), 'utf8');
    const deadRows = dead.trim().split('\n').slice(1);
    expect(deadRows).to.have.length(2);
    for (const row of deadRows) expect(row).to.contain('DUPLICATE_VALUE').and.contain('L-SAME-CHUNK');
  });
});
