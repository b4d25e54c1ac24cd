import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { errnoOf, exists, temporaryPathFor, writeAtomically, writeFileAtomically } from '../../src/journal/durable.js';
import { scratch } from './journalFixtures.js';

describe('durable files', () => {
  const tmp = scratch('durable-');
  after(() => tmp.remove());

  it('errnoOf reads the code of a system error, and nothing else', () => {
    expect(errnoOf(Object.assign(new Error('gone'), { code: 'ENOENT' }))).to.equal('ENOENT');
    expect(errnoOf(new Error('plain'))).to.equal(undefined);
    expect(errnoOf('ENOENT')).to.equal(undefined);
    expect(errnoOf(null)).to.equal(undefined);
  });

  it('exists says false only for what is not there', async () => {
    writeFileSync(tmp.path('file'), 'x');
    expect(await exists(tmp.path('file'))).to.equal(true);
    expect(await exists(tmp.path('missing'))).to.equal(false);
    // a path through a file is "not there" too (ENOTDIR)
    expect(await exists(tmp.path('file', 'below'))).to.equal(false);
  });

  it('temporary names are hidden, beside the file, and unique per call', () => {
    const file = tmp.path('results', 'x.csv');
    const first = temporaryPathFor(file);
    expect(first.startsWith(tmp.path('results', `.x.csv.${process.pid}.`))).to.equal(true);
    expect(first.endsWith('.tmp')).to.equal(true);
    expect(temporaryPathFor(file)).to.not.equal(first);
  });

  it('writes a file whole, owner-only, leaving no temporary file', async () => {
    await writeFileAtomically(tmp.path('whole.json'), '{"a":1}\n');
    expect(readFileSync(tmp.path('whole.json'), 'utf8')).to.equal('{"a":1}\n');
    expect(statSync(tmp.path('whole.json')).mode & 0o777).to.equal(0o600);
    await writeFileAtomically(tmp.path('whole.json'), 'replaced\n');
    expect(readFileSync(tmp.path('whole.json'), 'utf8')).to.equal('replaced\n');
    expect(readdirSync(tmp.dir).filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('leaves the old file untouched, and no temporary file, when the write fails', async () => {
    writeFileSync(tmp.path('kept.csv'), 'old\n');
    const failure = await writeAtomically(tmp.path('kept.csv'), (temporary) => {
      writeFileSync(temporary, 'half');
      return Promise.reject(new Error('disk full'));
    }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).to.equal('disk full');
    expect(readFileSync(tmp.path('kept.csv'), 'utf8')).to.equal('old\n');
    expect(readdirSync(tmp.dir).filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
  });
});
