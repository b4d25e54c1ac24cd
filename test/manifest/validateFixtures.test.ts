/*
 * `validateManifest`, the library behind `sf migrate validate`, in process: one broken manifest per
 * check, each giving exactly one error with its code, JSON pointer and line; valid manifests (the
 * example included) that must pass; every result checked against schemas/migrate-validate.json.
 * test/nuts/validate.nut.ts runs the command itself for its exit codes and printed lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { validateManifest, type ValidateResult } from '../../src/manifest/validate.js';
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
  ['wrong-delimiter', 'MissingExternalIdColumn', '/steps/0/source', 11],
  ['polymorphic-without-type', 'PolymorphicWithoutType', '/steps/2/source', 20],
  ['polymorphic-order-reversed', 'PolymorphicOrderReversed', '/steps/1/source', 15],
  ['type-on-non-polymorphic', 'TypeOnNonPolymorphic', '/steps/1/source', 15],
  ['step-ids-differ-in-case', 'StepIdsDifferInCase', '/steps/1/id', 15],
];

/** [fixture in valid/, the one warning it must report, its pointer, its line] */
const warned: Array<[string, string, string, number]> = [
  ['warn-parent-without-step', 'ParentWithoutStep', '/steps/1/source', 15],
  ['warn-parent-step-later', 'ParentStepLater', '/steps/0/source', 11],
];

describe('validateManifest over the manifest fixtures', () => {
  const validate = async (manifest: string, valid: boolean): Promise<ValidateResult> => {
    const result = await validateManifest(manifest);
    assertMatchesSchema(resultSchema, result);
    expect(result.valid, JSON.stringify(result.errors)).to.equal(valid);
    return result;
  };

  it(`covers at least 25 broken manifests (${broken.length})`, () => {
    expect(broken.length).to.be.at.least(25);
    expect(new Set(broken.map(([, code]) => code)).size).to.be.at.least(24);
  });

  for (const [name, code, pointer, line] of broken) {
    it(`${name}: invalid, ${code} at ${pointer || '(root)'} line ${line}`, async () => {
      const file = join(fixtures, 'broken', `${name}.json`);
      const result = await validate(file, false);
      expect(result.manifest).to.equal(file);
      expect(result.errors.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([[code, pointer, line]]);
      expect(result.errors[0].column).to.be.a('number');
      expect(result.errors[0].message).to.not.match(/%s/);
      expect(result.steps).to.equal(0);
      expect(result.waves).to.deep.equal([]);
    });
  }

  for (const [name, code, pointer, line] of warned) {
    it(`${name}: valid with the warning ${code} at ${pointer} line ${line}`, async () => {
      const result = await validate(join(fixtures, 'valid', `${name}.json`), true);
      expect(result.errors).to.deep.equal([]);
      // These fixtures read the shared ../data folder, which is outside their own: one more warning each.
      const own = result.warnings.filter((p) => p.code !== 'SourceOutsideManifest');
      expect(own.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([[code, pointer, line]]);
      expect(own[0].file).to.be.a('string');
    });
  }

  it('reports every problem of a manifest with many defects in one run', async () => {
    const result = await validate(join(fixtures, 'broken-many', 'migration.json'), false);
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

  it('passes a manifest that uses every property, with its waves', async () => {
    const result = await validate(join(fixtures, 'valid', 'full.json'), true);
    expect(result).to.deep.include({ valid: true, errors: [], steps: 9 });
    expect(result.waves).to.deep.equal([
      ['Account', 'accounts-crlf', 'accounts-semicolon', 'accounts-mapped', 'Task'],
      ['Contact', 'account-parents'],
      ['account-delete'],
      ['account-purge'],
    ]);
  });

  it('passes a manifest whose waves come from relationship columns', async () => {
    const result = await validate(join(fixtures, 'valid', 'basic', 'migration.json'), true);
    expect(result).to.deep.include({ valid: true, errors: [], warnings: [], steps: 3 });
    expect(result.waves).to.deep.equal([['Account'], ['Contact', 'account-parents']]);
  });

  it('spells out the fix of a polymorphic column: the reversed order, a missing type, a type not needed', async () => {
    const messageOf = async (name: string): Promise<string> =>
      (await validate(join(fixtures, 'broken', `${name}.json`), false)).errors[0].message;
    expect(await messageOf('polymorphic-order-reversed')).to.include('Rename the column to User:Owner.Username');
    expect(await messageOf('polymorphic-without-type')).to.include('such as Contact:Who.Email');
    expect(await messageOf('type-on-non-polymorphic')).to.include('rename the column to Owner.Username');
  });

  it('loads the type prefix of a polymorphic column first: Lead with User:Owner, Task with Lead:Who', async () => {
    const result = await validate(join(fixtures, 'valid', 'polymorphic-owner-and-who.json'), true);
    expect(result.waves).to.deep.equal([['Lead'], ['Task']]);
    // No step loads User: the owners must already be in the org.
    const own = result.warnings.filter((p) => p.code !== 'SourceOutsideManifest');
    expect(own.map((p) => [p.code, p.pointer])).to.deep.equal([['ParentWithoutStep', '/steps/0/source']]);
    expect(own[0].message).to.include('"User:Owner.Username"');
  });

  it('passes the example migration', async function () {
    const example = resolve('examples/legacy-crm/migration.json');
    if (!existsSync(example)) this.skip();
    const result = await validate(example, true);
    expect(result.errors).to.deep.equal([]);
    const raw = JSON.parse(readFileSync(example, 'utf8')) as { steps: unknown[] };
    expect(result.steps).to.equal(raw.steps.length);
    expect(result.waves.flat().sort()).to.have.length(raw.steps.length);
  });
});
