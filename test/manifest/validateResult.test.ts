import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { JSONSchema } from 'json-schema-to-typescript';
import { assertTypeMatchesSchema, typeDisagreements } from '../helpers/resultSchema.js';

const schemaFile = 'schemas/migrate-validate.json';
const typesFile = 'src/manifest/validate.ts';

describe('ValidateResult ≡ schemas/migrate-validate.json', function () {
  this.timeout(120_000);

  it('the result type and its schema agree', async () => {
    await assertTypeMatchesSchema(schemaFile, 'ValidateResult', typesFile);
  });

  it('notices a problem code the schema does not list', async () => {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as {
      $defs: { Problem: { properties: { code: { enum: string[] } } } };
    };
    schema.$defs.Problem.properties.code.enum.pop();
    const found = await typeDisagreements(
      schema as unknown as JSONSchema,
      [['ValidateResult', 'ValidateResult']],
      typesFile,
    );
    expect(found).to.have.length(1);
  });
});
