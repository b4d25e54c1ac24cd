/*
 * `sf migrate validate --format …` in process: the command class run with oclif's config of this
 * checkout, its standard output captured. (The CLI smoke tests are in test/nuts/validate.nut.ts.)
 */
import { resolve } from 'node:path';
import { expect } from 'chai';
import sinon from 'sinon';
import { parseStringPromise } from 'xml2js';
import Validate from '../../src/commands/migrate/validate.js';

const broken = 'test/fixtures/manifests/broken/unknown-dependency.json';

async function validate(...argv: string[]): Promise<{ out: string; exitCode: typeof process.exitCode }> {
  const before = process.exitCode;
  const lines: string[] = [];
  const write = sinon.stub(process.stdout, 'write').callsFake((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await Validate.run(argv, resolve('.'));
  } finally {
    write.restore();
  }
  const exitCode = process.exitCode;
  process.exitCode = before;
  return { out: lines.join(''), exitCode };
}

describe('sf migrate validate --format (in process)', function () {
  this.timeout(60_000);

  it('github: one workflow command per problem on the manifest path relative to the working directory', async () => {
    const { out, exitCode } = await validate('--manifest', broken, '--format', 'github');
    expect(exitCode).to.equal(1);
    const annotations = out.split('\n').filter((line) => line.startsWith('::'));
    expect(annotations[0]).to.match(
      new RegExp(`^::error file=${broken},line=17,col=9,title=UnknownDependency::Step "Contact" depends on "Acount"`),
    );
    expect(annotations.filter((a) => a.startsWith('::error'))).to.have.length(1);
    expect(annotations.filter((a) => a.startsWith('::warning '))).to.have.length(2);
  });

  it('junit: only the XML report on standard output', async () => {
    const { out, exitCode } = await validate('--manifest', broken, '--format', 'junit');
    expect(exitCode).to.equal(1);
    const junit = (await parseStringPromise(out)) as { testsuites: { $: { failures: string } } };
    expect(junit.testsuites.$.failures).to.equal('1');
  });

  it('human stays the default', async () => {
    const { out } = await validate('--manifest', broken);
    expect(out).to.include(`${broken}:17:9  error  UnknownDependency`);
  });
});
