import { expect } from 'chai';
import { escapeHtml, renderReport } from '../../src/verify/htmlReport.js';
import type { VerifyResult } from '../../src/verify/types.js';
import { assertTypeMatchesSchema } from '../helpers/resultSchema.js';

function result(overrides: Partial<VerifyResult> = {}): VerifyResult {
  return {
    runId: '20261129-230000-abcd',
    runDir: '/tmp/run',
    manifest: '/tmp/migration.json',
    username: 'admin@local.org',
    orgId: '00D000000000001AAA',
    runStatus: 'succeeded',
    startedAt: '2026-11-29T23:00:00.000Z',
    finishedAt: '2026-11-29T23:10:00.000Z',
    verified: false,
    sampleSize: 100,
    seed: 1,
    steps: [
      {
        step: 'accounts',
        object: 'Account',
        operation: 'upsert',
        wave: 0,
        finished: true,
        sourceRecords: 3,
        succeeded: 3,
        deadLetters: 0,
        heldBack: 0,
        deadLettersByCode: {},
        retryRounds: 0,
        retriedRecords: 0,
        accounted: true,
        checkedInOrg: 3,
        duplicatesChecked: true,
        sampled: 3,
        discrepancies: { fieldMismatch: 1 },
        finishedAt: '2026-11-29T23:05:00.000Z',
        durationMs: 65_000,
      },
    ],
    discrepancies: [
      {
        step: 'accounts',
        kind: 'fieldMismatch',
        key: '001000000000001AAA',
        field: 'Name',
        expected: '<script>alert("x")</script>',
        actual: '<img src="https://evil.example/x.png">',
      },
    ],
    discrepanciesOmitted: 0,
    ...overrides,
  };
}

describe('the HTML report', () => {
  it('escapes every value: record values cannot inject markup', () => {
    const html = renderReport(result(), new Date('2026-11-30T00:00:00Z'));
    expect(html).not.to.include('<script>');
    expect(html).not.to.include('<img');
    expect(html).to.include('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(escapeHtml('a&b<\'">')).to.equal('a&amp;b&lt;&#39;&quot;&gt;');
  });

  it('is self-contained: inline style only, nothing fetched, and a policy that forbids fetching', () => {
    const html = renderReport(result({ discrepancies: [], verified: true }), new Date());
    expect(html).to.include('<style>');
    expect(html).not.to.match(/<(script|link|img|iframe|object)\b/i);
    expect(html).not.to.match(/url\(/i);
    expect(html).to.include("content=\"default-src 'none'; style-src 'unsafe-inline'\"");
    expect(html).to.include('Verified: every record accounted for');
  });

  it('shows the per-step table with the journal timings and the discrepancies', () => {
    const html = renderReport(result({ discrepanciesOmitted: 5 }), new Date('2026-11-30T00:00:00Z'));
    expect(html).to.include('accounts').and.to.include('1 min 5 s').and.to.include('2026-11-29T23:05:00.000Z');
    expect(html).to.include('Does not reconcile: 6 discrepancies.');
    expect(html).to.include('5 more discrepancies are counted but not listed.');
  });
});

describe('the --json result of verify', () => {
  it('VerifyResult is the type of schemas/migrate-verify.json', async function () {
    this.timeout(60_000);
    await assertTypeMatchesSchema('schemas/migrate-verify.json', 'VerifyResult', 'src/verify/types.ts');
  });
});
