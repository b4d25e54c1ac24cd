import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LookupIndex, type Resolution } from '../../src/lookup/lookupIndex.js';
import { lookupSpec, sourceKey } from '../../src/lookup/spec.js';

const id = (n: number): string => `005${String(n).padStart(12, '0')}AAA`;

describe('LookupIndex', () => {
  let dir: string;
  let file: string;
  const records = 20_000;
  const spec = lookupSpec('Contact', { column: 'OwnerEmail', user: 'Email' }, 0);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookup-index-'));
    file = join(dir, 'users.csv');
    const lines = ['"Id","Email","IsActive"'];
    for (let n = 0; n < records; n++) {
      // every 1000th address is shared by the next user too; every 7th user is inactive
      const email = n % 1000 === 1 ? `user${n - 1}@acme.com` : `User${n}@Acme.com`;
      lines.push(`"${id(n)}","${email}","${n % 7 === 0 ? 'false' : 'true'}"`);
    }
    await writeFile(file, lines.join('\n') + '\n');
  });

  after(async () => rm(dir, { recursive: true, force: true }));

  const probe = (index: LookupIndex): Resolution[] => {
    const answers: Resolution[] = [];
    for (let n = 0; n < records + 50; n++) answers.push(index.resolve(sourceKey(spec, [`user${n}@acme.com`])!));
    return answers;
  };

  it('answers found, missing, ambiguous and inactive from memory', async () => {
    const index = await LookupIndex.build(spec, { file, records }, { spillDir: dir });
    try {
      expect(index.spilled).to.equal(false);
      expect(index.records).to.equal(records);
      expect(index.resolve(sourceKey(spec, ['USER2@acme.com '])!)).to.deep.equal({
        kind: 'found',
        id: id(2),
        active: true,
      });
      expect(index.resolve(sourceKey(spec, ['user7@acme.com'])!)).to.deep.equal({
        kind: 'found',
        id: id(7),
        active: false,
      });
      expect(index.resolve(sourceKey(spec, ['user1000@acme.com'])!)).to.deep.equal({ kind: 'ambiguous', count: 2 });
      expect(index.resolve(sourceKey(spec, ['nobody@acme.com'])!)).to.deep.equal({ kind: 'missing' });
    } finally {
      await index.close();
    }
  });

  for (const memoryBytes of [0, 200_000, 400_000]) {
    it(`answers every key as the in-memory index does when spilled past ${memoryBytes} bytes`, async () => {
      const inMemory = await LookupIndex.build(spec, { file, records }, { spillDir: dir });
      const spilled = await LookupIndex.build(spec, { file, records }, { spillDir: dir, memoryBytes });
      try {
        expect(spilled.spilled).to.equal(true);
        expect(spilled.size).to.equal(inMemory.size);
        expect(probe(spilled)).to.deep.equal(probe(inMemory));
      } finally {
        await inMemory.close();
        await spilled.close();
      }
      expect((await readdir(dir)).filter((name) => name.startsWith('lookup-'))).to.deep.equal([]);
    });
  }

  it('keeps keys of record types without an active flag', async () => {
    const types = join(dir, 'types.csv');
    await writeFile(types, '"Id","DeveloperName"\n"012000000000001AAA","Partner"\n');
    const rt = lookupSpec('Account', { column: 'Type', recordType: 'DeveloperName' }, 0);
    const index = await LookupIndex.build(rt, { file: types, records: 1 }, { spillDir: dir, memoryBytes: 0 });
    try {
      expect(index.resolve(sourceKey(rt, ['partner'])!)).to.deep.equal({ kind: 'found', id: '012000000000001AAA' });
    } finally {
      await index.close();
    }
  });
});
