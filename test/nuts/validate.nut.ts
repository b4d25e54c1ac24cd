/*
 * `sf migrate validate` through the compiled plugin (bin/run.js): one broken manifest per check,
 * each asserting exit code, problem code, JSON pointer and line; valid manifests (the example
 * included) that must pass; every --json result checked against schemas/migrate-validate.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execCmd, TestSession } from '@salesforce/cli-plugins-testkit';
import { expect } from 'chai';
import type { ValidateResult } from '../../src/commands/migrate/validate.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

const fixtures = resolve('test/fixtures/manifests');
const resultSchema = resolve('schemas/migrate-validate.json');

/** [fixture in broken/, the one error it must report, its pointer, its line in the manifest] */
const broken: Array<[string, string, string, number]> = [
  ['invalid-json-double-comma', 'InvalidJson', '', 14],
  ['invalid-json-unclosed', 'InvalidJson', '', 18],
  ['schema-missing-name', 'SchemaViolation', '/name', 1],
  ['schema-unknown-property', 'SchemaViolation', '/stepz', 18],
  ['schema-bad-operation', 'SchemaViolation', '/steps/0/operation', 12],
  ['schema-bad-duration', 'SchemaViolation', '/defaults/poll/initial', 8],
  ['schema-max-bytes-over-100mb', 'SchemaViolation', '/steps/0/maxBytesPerJob', 12],
  ['schema-bad-step-id', 'SchemaViolation', '/steps/2/id', 18],
  ['schema-no-steps', 'SchemaViolation', '/steps', 8],
  ['schema-concurrency-zero', 'SchemaViolation', '/concurrency', 18],
  ['duplicate-key', 'DuplicateKey', '/name', 4],
  ['duplicate-step-id', 'DuplicateStepId', '/steps/2', 17],
  ['unknown-dependency', 'UnknownDependency', '/steps/1/dependsOn/0', 17],
  ['dependency-cycle', 'DependencyCycle', '/steps/0/dependsOn/0', 13],
  ['dependency-cycle-through-relationship', 'DependencyCycle', '/steps/0/dependsOn/0', 13],
  ['waves-break-dependency', 'WavesBreakDependency', '/waves/0/1', 21],
  ['waves-missing-step', 'StepMissingFromWaves', '/waves', 21],
  ['waves-step-twice', 'StepInTwoWaves', '/waves/2/0', 26],
  ['waves-unknown-step', 'UnknownStepInWaves', '/waves/1/1', 24],
  ['upsert-without-external-id', 'UpsertWithoutExternalId', '/steps/0/operation', 9],
  ['poll-max-below-initial', 'PollMaxBelowInitial', '/defaults/poll/max', 9],
  ['source-not-found', 'SourceNotFound', '/steps/0/source', 11],
  ['source-glob-matches-nothing', 'SourceNotFound', '/steps/1/source/1', 17],
  ['source-unreadable-directory', 'SourceUnreadable', '/steps/0/source', 11],
  ['empty-header', 'EmptyHeader', '/steps/0/source', 11],
  ['malformed-header', 'MalformedHeader', '/steps/0/source', 11],
  ['duplicate-column', 'DuplicateColumn', '/steps/0/source', 11],
  ['blank-column', 'BlankColumn', '/steps/0/source', 11],
  ['missing-external-id-column', 'MissingExternalIdColumn', '/steps/0/source', 11],
  ['delete-needs-id-only', 'DeleteNeedsIdOnly', '/steps/2/source', 21],
  ['hard-delete-needs-id-only', 'DeleteNeedsIdOnly', '/steps/2/source', 21],
  ['update-without-id', 'MissingIdColumn', '/steps/2/source', 21],
  ['mapping-rename-column-missing', 'MappingColumnMissing', '/steps/0/mapping/rename/company_name', 15],
  ['mapping-drop-column-missing', 'MappingColumnMissing', '/steps/0/mapping/drop/0', 18],
  ['mapping-conflict', 'MappingConflict', '/steps/0/mapping/constants/Name', 21],
  ['line-ending-mismatch', 'LineEndingMismatch', '/steps/0', 9],
  ['wrong-delimiter', 'MissingExternalIdColumn', '/steps/0/source', 11],
];

/** [fixture in valid/, the one warning it must report, its pointer, its line] */
const warned: Array<[string, string, string, number]> = [
  ['warn-parent-without-step', 'ParentWithoutStep', '/steps/1/source', 15],
  ['warn-parent-step-later', 'ParentStepLater', '/steps/0/source', 11],
  ['warn-polymorphic-without-type', 'PolymorphicWithoutType', '/steps/2/source', 20],
];

describe('sf migrate validate', () => {
  let session: TestSession;

  before(async () => {
    session = await TestSession.create({ devhubAuthStrategy: 'NONE' });
  });

  after(async () => {
    await session?.clean();
  });

  const validate = (manifest: string, exitCode: number): ValidateResult => {
    const output = execCmd<ValidateResult>(`migrate validate --manifest ${manifest} --json`, {
      ensureExitCode: exitCode,
    }).jsonOutput;
    expect(output?.status).to.equal(exitCode);
    assertMatchesSchema(resultSchema, output!.result);
    return output!.result;
  };

  it(`covers at least 25 broken manifests (${broken.length})`, () => {
    expect(broken.length).to.be.at.least(25);
    expect(new Set(broken.map(([, code]) => code)).size).to.be.at.least(24);
  });

  for (const [name, code, pointer, line] of broken) {
    it(`${name}: exit 1, ${code} at ${pointer || '(root)'} line ${line}`, () => {
      const file = join(fixtures, 'broken', `${name}.json`);
      const result = validate(file, 1);
      expect(result.valid).to.equal(false);
      expect(result.manifest).to.equal(file);
      expect(result.errors.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([[code, pointer, line]]);
      expect(result.errors[0].column).to.be.a('number');
      expect(result.errors[0].message).to.not.match(/%s/);
      expect(result.steps).to.equal(0);
      expect(result.waves).to.deep.equal([]);
    });
  }

  for (const [name, code, pointer, line] of warned) {
    it(`${name}: exit 0 with the warning ${code} at ${pointer} line ${line}`, () => {
      const result = validate(join(fixtures, 'valid', `${name}.json`), 0);
      expect(result.valid).to.equal(true);
      expect(result.errors).to.deep.equal([]);
      // These fixtures read the shared ../data folder, which is outside their own: one more warning each.
      const own = result.warnings.filter((p) => p.code !== 'SourceOutsideManifest');
      expect(own.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([[code, pointer, line]]);
      expect(own[0].file).to.be.a('string');
    });
  }

  it('reports every problem of a manifest with many defects in one run', () => {
    const result = validate(join(fixtures, 'broken-many', 'migration.json'), 1);
    expect(result.errors.map((p) => p.code)).to.deep.equal([
      'SchemaViolation',
      'SchemaViolation',
      'UpsertWithoutExternalId',
      'SourceNotFound',
      'PollMaxBelowInitial',
      'DuplicateStepId',
      'UpsertWithoutExternalId',
      'SourceUnreadable',
      'DeleteNeedsIdOnly',
      'MissingExternalIdColumn',
      'UnknownDependency',
      'DependencyCycle',
      'StepMissingFromWaves',
      'WavesBreakDependency',
      'StepInTwoWaves',
      'UnknownStepInWaves',
    ]);
    const lines = result.errors.map((p) => p.line!);
    expect(lines).to.deep.equal([...lines].sort((a, b) => a - b));
  });

  it('passes a manifest that uses every property, with its waves', () => {
    const result = validate(join(fixtures, 'valid', 'full.json'), 0);
    expect(result).to.deep.include({ valid: true, errors: [], steps: 9 });
    expect(result.waves).to.deep.equal([
      ['Account', 'accounts-crlf', 'accounts-semicolon', 'accounts-mapped', 'Task'],
      ['Contact', 'account-parents'],
      ['account-delete'],
      ['account-purge'],
    ]);
  });

  it('passes a manifest whose waves come from relationship columns', () => {
    const result = validate(join(fixtures, 'valid', 'basic', 'migration.json'), 0);
    expect(result).to.deep.include({ valid: true, errors: [], warnings: [], steps: 3 });
    expect(result.waves).to.deep.equal([['Account'], ['Contact', 'account-parents']]);
  });

  it('passes the example migration', function () {
    const example = resolve('examples/legacy-crm/migration.json');
    if (!existsSync(example)) this.skip();
    const result = validate(example, 0);
    expect(result.errors).to.deep.equal([]);
    const raw = JSON.parse(readFileSync(example, 'utf8')) as { steps: unknown[] };
    expect(result.steps).to.equal(raw.steps.length);
    expect(result.waves.flat().sort()).to.have.length(raw.steps.length);
  });

  it('prints one line per problem with path:line:col and a summary, and exits 1', () => {
    const manifest = join(fixtures, 'broken', 'unknown-dependency.json');
    const out = execCmd(`migrate validate --manifest ${manifest}`, { ensureExitCode: 1 }).shellOutput;
    expect(out.stdout).to.contain(
      `${manifest}:17:9  error  UnknownDependency  Step "Contact" depends on "Acount", which is not a step id.`
    );
    expect(out.stdout).to.contain('(/steps/1/dependsOn/0)');
    expect(out.stdout).to.match(/is not valid: 1 error\(s\), 2 warning\(s\)/);
  });

  it('prints warnings and a success summary for a valid manifest, and exits 0', () => {
    const manifest = join(fixtures, 'valid', 'warn-parent-without-step.json');
    const out = execCmd(`migrate validate --manifest ${manifest}`, { ensureExitCode: 0 }).shellOutput;
    expect(out.stdout).to.contain(`${manifest}:15:7  warning  ParentWithoutStep`);
    expect(out.stdout).to.match(/is valid: 2 step\(s\) in 1 wave\(s\), 3 warning\(s\)/);
  });

  it('fails, naming the path, when the manifest does not exist', () => {
    const absent = join(fixtures, 'absent.json');
    const output = execCmd(`migrate validate --manifest ${absent} --json`, {
      ensureExitCode: 1,
    }).jsonOutput as unknown as { status: number; message: string };
    expect(output.status).to.equal(1);
    expect(output.message).to.contain(absent);
  });
});
