import { expect } from 'chai';
import { printable, printableDeep } from '../../src/ux/printable.js';
import { summaryTable } from '../../src/ux/summary.js';
import type { RunOutcome } from '../../src/engine/outcome.js';

describe('printable', () => {
  it('escapes terminal escapes, carriage returns, DEL, C1 controls and bidi overrides', () => {
    expect(printable('\x1b[2J\x1b[31mred')).to.equal('\\u001b[2J\\u001b[31mred');
    expect(printable('failed\rsucceeded')).to.equal('failed\\u000dsucceeded');
    expect(printable('a\x00b\x07c\x7fd\x9be')).to.equal('a\\u0000b\\u0007c\\u007fd\\u009be');
    expect(printable('abc\u202edef')).to.equal('abc\\u202edef');
  });

  it('keeps tabs, line feeds and every printable character, accents and emoji included', () => {
    const text = 'Müller\tSão Paulo\n日本 🚀 "quoted" \\ back';
    expect(printable(text)).to.equal(text);
  });

  it('reaches every string of rows, keys included', () => {
    expect(printableDeep([{ errors: 'X\x1b 1', n: 2, ['k\x1b']: ['\r'] }])).to.deep.equal([
      { errors: 'X\\u001b 1', n: 2, 'k\\u001b': ['\\u000d'] },
    ]);
  });

  it('is applied to the summary table, whose error codes come from the org', () => {
    const outcome: RunOutcome = {
      runId: 'r',
      runDir: '/tmp/r',
      status: 'completedWithFailures',
      steps: [
        {
          step: 'Account',
          object: 'Account',
          operation: 'insert',
          wave: 0,
          records: 2,
          succeeded: 1,
          failed: 1,
          unprocessed: 0,
          failuresByCode: { '\x1b]0;pwned\x07BAD': 1 },
          jobs: 1,
          retryRounds: 0,
          durationMs: 10,
          gate: 'passed',
        },
      ],
    };
    const [row] = summaryTable(outcome).data;
    expect(row.errors).to.equal('\\u001b]0;pwned\\u0007BAD 1');
  });
});
