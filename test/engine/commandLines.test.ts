import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { jobCommand, resumeCommand, retryCommand, runCommand, shellQuote } from '../../src/engine/commandLines.js';

/** the words bash reads from `line` (after `sf migrate`), printed one per NUL-terminated record */
function wordsOf(line: string): string[] {
  const out = execFileSync('bash', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('command lines for the user', () => {
  const awkward = [
    '/srv/cutover/migration.json',
    '/srv/ana/My Migrations/migration.json',
    "/srv/o'neil/m.json",
    '/tmp/$HOME/`id`/m.json',
    '/tmp/a"b\\c/m.json',
    '/tmp/star*/m?.json',
    '/tmp/line\nbreak/m.json',
    '-starts-with-dash.json',
    '',
  ];

  for (const path of awkward) {
    it(`pastes into bash as one word: ${JSON.stringify(path)}`, () => {
      expect(wordsOf(shellQuote(path))).to.deep.equal([path]);
      expect(wordsOf(resumeCommand(path, '20261129-023000-4f2a'))).to.deep.equal([
        'sf',
        'migrate',
        'resume',
        '--manifest',
        path,
        '--run-id',
        '20261129-023000-4f2a',
      ]);
    });
  }

  it('leaves plain words bare', () => {
    expect(shellQuote('/srv/cutover/migration.json')).to.equal('/srv/cutover/migration.json');
    expect(resumeCommand('/w/m.json', '20261129-023000-4f2a')).to.equal(
      'sf migrate resume --manifest /w/m.json --run-id 20261129-023000-4f2a',
    );
    expect(retryCommand('/w/m.json')).to.equal('sf migrate retry --manifest /w/m.json');
    expect(runCommand('/w/m.json', 'admin@acme.example', { new: true })).to.equal(
      'sf migrate run --manifest /w/m.json --target-org admin@acme.example --new',
    );
    expect(jobCommand('results', '750Lo0000000001IAA')).to.equal('sf migrate job results --job-id 750Lo0000000001IAA');
  });
});
