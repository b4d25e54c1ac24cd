import { createHash } from 'node:crypto';
import { renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { findChangedSources, fingerprintFile, sourcesChangedError } from '../../src/journal/fingerprint.js';
import type { SourceFingerprint } from '../../src/journal/events.js';
import { scratch } from './journalFixtures.js';

describe('source fingerprints', () => {
  const tmp = scratch('fingerprint-');
  after(() => tmp.remove());
  let n = 0;
  const content = 'Name,Legacy_Id__c\nAcme,A-1\nGlobex,A-2\n';
  // an mtime well away from "now", so a fingerprint of it is not racy
  const past = new Date('2026-11-01T12:00:00.000Z');

  function source(text = content): string {
    const file = tmp.path(`source-${++n}.csv`);
    writeFileSync(file, text);
    utimesSync(file, past, past);
    return file;
  }

  /** rewrites a file and puts its old mtime back, as `touch -r` or a careless copy would */
  function forgeMtime(file: string, text: string): void {
    const { mtime } = statSync(file);
    writeFileSync(file, text);
    utimesSync(file, mtime, mtime);
  }

  it('records size, mtime and the SHA-256 of the content', async () => {
    const file = source();
    const fingerprint = await fingerprintFile(file);
    expect(fingerprint).to.deep.equal({
      file,
      size: Buffer.byteLength(content),
      mtimeMs: statSync(file).mtimeMs,
      sha256: createHash('sha256').update(content).digest('hex'),
    });
  });

  it('hashes files larger than a read buffer', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024 + 17);
    const file = source(big);
    expect((await fingerprintFile(file)).sha256).to.equal(createHash('sha256').update(big).digest('hex'));
  });

  it('finds nothing when nothing changed', async () => {
    const fingerprints = await Promise.all([source(), source('Id\n001\n')].map(fingerprintFile));
    expect(await findChangedSources(fingerprints)).to.deep.equal([]);
    expect(await findChangedSources(fingerprints, { alwaysHash: true })).to.deep.equal([]);
  });

  it('reports a missing file, a size change and a content change, in recorded order', async () => {
    const [gone, grown, edited, same] = await Promise.all(
      [source(), source(), source(), source()].map(fingerprintFile),
    );
    rmSync(gone.file);
    writeFileSync(grown.file, `${content}Initech,A-3\n`);
    writeFileSync(edited.file, content.replace('Acme', 'ACME'));
    expect(await findChangedSources([gone, grown, edited, same])).to.deep.equal([
      { file: gone.file, reason: 'missing' },
      { file: grown.file, reason: 'size' },
      { file: edited.file, reason: 'content' },
    ]);
  });

  it('a file replaced by a folder is missing', async () => {
    const fingerprint = await fingerprintFile(source());
    rmSync(fingerprint.file);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(fingerprint.file);
    expect(await findChangedSources([fingerprint])).to.deep.equal([{ file: fingerprint.file, reason: 'missing' }]);
  });

  it('a touched file with the same content is unchanged', async () => {
    const fingerprint = await fingerprintFile(source());
    const later = new Date(past.getTime() + 60_000);
    utimesSync(fingerprint.file, later, later);
    expect(await findChangedSources([fingerprint])).to.deep.equal([]);
  });

  it('a file moved back into place with its content intact is unchanged', async () => {
    const fingerprint = await fingerprintFile(source());
    renameSync(fingerprint.file, `${fingerprint.file}.bak`);
    renameSync(`${fingerprint.file}.bak`, fingerprint.file);
    expect(await findChangedSources([fingerprint])).to.deep.equal([]);
  });

  it('trusts size and mtime unless told to hash, or the fingerprint was racy', async () => {
    const fingerprint = await fingerprintFile(source());
    forgeMtime(fingerprint.file, content.replace('Acme', 'Acne'));
    const forged = [{ file: fingerprint.file, reason: 'content' }];
    // the documented blind spot of the cheap policy: same size, forged mtime
    expect(await findChangedSources([fingerprint])).to.deep.equal([]);
    expect(await findChangedSources([fingerprint], { alwaysHash: true })).to.deep.equal(forged);
    // fingerprinted within the same clock tick as a write: the mtime proves nothing
    expect(await findChangedSources([fingerprint], { recordedAt: past.getTime() + 500 })).to.deep.equal(forged);
    expect(await findChangedSources([fingerprint], { recordedAt: new Date(past.getTime() + 60_000) })).to.deep.equal(
      [],
    );
  });

  it('sourcesChangedError lists every file and why, with the changes as data', () => {
    const changes = [
      { file: '/data/a.csv', reason: 'missing' as const },
      { file: '/data/b.csv', reason: 'content' as const },
    ];
    const error = sourcesChangedError('20261129-023000-4f2a', '/srv/migration.json', changes);
    expect(error).to.be.instanceOf(SfError);
    expect(error.name).to.equal('SourcesChangedError');
    expect(error.message).to.include('/data/a.csv is missing');
    expect(error.message).to.include('/data/b.csv has different content');
    expect(error.actions?.join('\n')).to.include('sf migrate resume --run-id 20261129-023000-4f2a');
    expect(error.actions?.join('\n')).to.include('sf migrate run --manifest /srv/migration.json');
    expect(error.data).to.deep.equal({ runId: '20261129-023000-4f2a', changes });
  });

  it('a recorded fingerprint is plain data that survives JSON', async () => {
    const fingerprint: SourceFingerprint = JSON.parse(
      JSON.stringify(await fingerprintFile(source())),
    ) as SourceFingerprint;
    expect(await findChangedSources([fingerprint])).to.deep.equal([]);
  });
});
