import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifest } from '../../src/manifest/load.js';

describe('manifest valueMaps', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sf-migrate-valuemaps-'));
    await writeFile(join(dir, 'a.csv'), 'Name,Stage\nAcme,O1\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function problemsOf(valueMaps: unknown): Promise<Array<{ code: string; pointer: string; line?: number }>> {
    const path = join(dir, 'm.json');
    const manifest = { name: 'x', steps: [{ object: 'Account', source: 'a.csv', valueMaps }] };
    await writeFile(path, JSON.stringify(manifest, null, 2));
    return (await loadManifest(path)).problems.map(({ code, pointer, line }) => ({ code, pointer, line }));
  }

  it('resolves an inline map and a map file relative to the manifest', async () => {
    await writeFile(join(dir, 'stages.csv'), 'old,new\nO1,Prospecting\n');
    const path = join(dir, 'm.json');
    const valueMaps = { Stage: { file: 'stages.csv', onUnmapped: 'pass' }, Name: { map: { Acme: 'ACME' } } };
    await writeFile(path, JSON.stringify({ name: 'x', steps: [{ object: 'Account', source: 'a.csv', valueMaps }] }));
    const { manifest, problems } = await loadManifest(path);
    expect(problems).to.deep.equal([]);
    expect(manifest!.steps[0].valueMaps).to.deep.equal({
      Stage: { file: join(dir, 'stages.csv'), onUnmapped: 'pass' },
      Name: { map: { Acme: 'ACME' } },
    });
  });

  it('reports each problem at its place: no source, both sources, a default missing or unused', async () => {
    const problems = await problemsOf({
      Stage: { onUnmapped: 'default' },
      Name: { map: {}, file: 'x.csv', default: 'y' },
    });
    expect(problems.map(({ code, pointer }) => [code, pointer])).to.have.deep.members([
      ['ValueMapSource', '/steps/0/valueMaps/Stage'],
      ['ValueMapDefault', '/steps/0/valueMaps/Stage/onUnmapped'],
      ['ValueMapSource', '/steps/0/valueMaps/Name'],
      ['ValueMapDefault', '/steps/0/valueMaps/Name/default'],
    ]);
    expect(problems.every((problem) => typeof problem.line === 'number')).to.equal(true);
  });

  it('reports a map file that is not two columns, a value mapped twice, a missing file and a missing column', async () => {
    await writeFile(join(dir, 'three.csv'), 'a,b\nO1,x,y\n');
    await writeFile(join(dir, 'twice.csv'), 'a,b\nO1,x\nO1,y\n');
    const problems = await problemsOf({
      Stage: { file: 'three.csv' },
      Name: { file: 'twice.csv' },
      Other: { file: 'missing.csv' },
    });
    expect(problems.map(({ code, pointer }) => [code, pointer])).to.have.deep.members([
      ['ValueMapFileUnreadable', '/steps/0/valueMaps/Stage/file'],
      ['ValueMapFileUnreadable', '/steps/0/valueMaps/Name/file'],
      ['ValueMapFileUnreadable', '/steps/0/valueMaps/Other/file'],
      ['ValueMapColumnMissing', '/steps/0/valueMaps/Other'],
    ]);
  });

  it('refuses an onUnmapped the schema does not know', async () => {
    const problems = await problemsOf({ Stage: { map: {}, onUnmapped: 'drop' } });
    expect(problems.map((problem) => problem.code)).to.deep.equal(['SchemaViolation']);
  });
});
