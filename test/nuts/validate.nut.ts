/*
 * `sf migrate validate` through the compiled plugin (bin/run.js): exit codes, the --json result
 * against schemas/migrate-validate.json, and the printed path:line:col lines. Each check's fixture
 * runs in process, in test/manifest/validateFixtures.test.ts.
 */
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import type { ValidateResult } from '../../src/commands/migrate/validate.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

const fixtures = resolve('test/fixtures/manifests');
const resultSchema = resolve('schemas/migrate-validate.json');

describe('sf migrate validate', () => {
  const nut = useNutSession('validate', []);

  const validate = async (manifest: string, exitCode: number): Promise<ValidateResult> => {
    const output = (await nut.sf<ValidateResult>(`migrate validate --manifest ${manifest} --json`, { code: exitCode }))
      .jsonOutput;
    expect(output?.status).to.equal(exitCode);
    assertMatchesSchema(resultSchema, output!.result);
    return output!.result;
  };

  it('exits 1 on a broken manifest, with the problem located in the --json result', async () => {
    const file = join(fixtures, 'broken', 'dependency-cycle.json');
    const result = await validate(file, 1);
    expect(result).to.deep.include({ valid: false, manifest: file, steps: 0, waves: [] });
    expect(result.errors.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([
      ['DependencyCycle', '/steps/0/dependsOn/0', 13],
    ]);
  });

  it('exits 0 on a valid manifest, with its waves in the --json result', async () => {
    const result = await validate(join(fixtures, 'valid', 'basic', 'migration.json'), 0);
    expect(result).to.deep.include({ valid: true, errors: [], warnings: [], steps: 3 });
    expect(result.waves).to.deep.equal([['Account'], ['Contact', 'account-parents']]);
  });

  it('prints one line per problem with path:line:col and a summary, and exits 1', async () => {
    const manifest = join(fixtures, 'broken', 'unknown-dependency.json');
    // spawned: the testkit's async execCmd keeps no stdout of a command that exits non-zero
    const out = await nut.spawn(['migrate', 'validate', '--manifest', manifest]).exit;
    expect(out.status, out.stderr).to.equal(1);
    expect(out.stdout).to.contain(
      `${manifest}:17:9  error  UnknownDependency  Step "Contact" depends on "Acount", which is not a step id.`,
    );
    expect(out.stdout).to.contain('(/steps/1/dependsOn/0)');
    expect(out.stdout).to.match(/is not valid: 1 error\(s\), 2 warning\(s\)/);
  });

  it('prints warnings and a success summary for a valid manifest, and exits 0', async () => {
    const manifest = join(fixtures, 'valid', 'warn-parent-without-step.json');
    const out = (await nut.sf(`migrate validate --manifest ${manifest}`)).shellOutput;
    expect(out.stdout).to.contain(`${manifest}:15:7  warning  ParentWithoutStep`);
    expect(out.stdout).to.match(/is valid: 2 step\(s\) in 1 wave\(s\), 3 warning\(s\)/);
  });

  it('fails, naming the path, when the manifest does not exist', async () => {
    const absent = join(fixtures, 'absent.json');
    const output = (await nut.sf(`migrate validate --manifest ${absent} --json`, { code: 1 }))
      .jsonOutput as unknown as { status: number; message: string };
    expect(output.status).to.equal(1);
    expect(output.message).to.contain(absent);
  });
});
