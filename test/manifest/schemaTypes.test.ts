/*
 * The manifest schema is the contract and src/manifest/types.ts is what the code compiles
 * against. This test generates TypeScript from the schema (json-schema-to-typescript) and asks the
 * compiler whether each generated type is identical, property by property and optionality
 * included, to the hand-written one.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'chai';
import type { JSONSchema } from 'json-schema-to-typescript';
import { typeDisagreements } from '../helpers/resultSchema.js';

const schemaFile = resolve('schemas/manifest.schema.json');
const typesFile = resolve('src/manifest/types.ts');

const compared = [
  'Manifest',
  'Step',
  'StepSettings',
  'ColumnMapping',
  'PollSettings',
  'FailureThreshold',
  'Operation',
  'ColumnDelimiter',
  'LineEnding',
] as const;

const disagreements = (schema: JSONSchema): Promise<string[]> =>
  typeDisagreements(
    schema,
    compared.map((name) => [name, name]),
    typesFile,
  );

const loadSchema = (): JSONSchema => JSON.parse(readFileSync(schemaFile, 'utf8')) as JSONSchema;

describe('manifest schema ≡ src/manifest/types.ts', function () {
  this.timeout(120_000);

  it('generates types identical to the hand-written ones', async () => {
    expect(await disagreements(loadSchema())).to.deep.equal([]);
  });

  it('notices a property the types do not have', async () => {
    const schema = loadSchema() as { $defs: { Step: { properties: Record<string, unknown> } } };
    schema.$defs.Step.properties.priority = { type: 'integer' };
    const found = await disagreements(schema as JSONSchema);
    expect(found.join('\n')).to.match(/same_Step\b/);
  });

  it('notices a property that became required', async () => {
    const schema = loadSchema() as { $defs: { PollSettings: { required?: string[] } } };
    schema.$defs.PollSettings.required = ['initial'];
    const found = await disagreements(schema as JSONSchema);
    expect(found.join('\n')).to.match(/same_PollSettings/);
  });

  it('notices an operation the types do not know', async () => {
    const schema = loadSchema() as { $defs: { Operation: { enum: string[] } } };
    schema.$defs.Operation.enum.push('merge');
    const found = await disagreements(schema as JSONSchema);
    expect(found.join('\n')).to.match(/same_Operation/);
  });
});
