/*
 * Keeps a command's --json result and its schema in step: result schemas say
 * `additionalProperties: false` everywhere, so a field added, renamed or dropped in the output of
 * a real command run fails the test that calls this.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { expect } from 'chai';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import ts from 'typescript';

const compiled = new Map<string, ValidateFunction>();

/** Every object schema (not a map of arbitrary keys) must close itself, or the check proves nothing. */
function assertClosed(schema: unknown, at: string): void {
  if (Array.isArray(schema)) {
    schema.forEach((item, i) => assertClosed(item, `${at}/${i}`));
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  const node = schema as AnySchemaObject;
  if (node.properties !== undefined && node.additionalProperties !== false) {
    throw new Error(`${at}: an object schema with "properties" must say "additionalProperties": false`);
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'examples' && key !== 'default' && key !== 'const' && key !== 'enum')
      assertClosed(value, `${at}/${key}`);
  }
}

function validatorFor(schemaFile: string): ValidateFunction {
  const path = resolve(schemaFile);
  let validate = compiled.get(path);
  if (!validate) {
    const schema = JSON.parse(readFileSync(path, 'utf8')) as AnySchemaObject;
    assertClosed(schema, path);
    validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    compiled.set(path, validate);
  }
  return validate;
}

/** Fails (chai) listing every mismatch between the value and the schema file. */
export function assertMatchesSchema(schemaFile: string, value: unknown): void {
  const validate = validatorFor(schemaFile);
  const ok = validate(value);
  const details = (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
  expect(ok, `result does not match ${schemaFile}:\n${details.join('\n')}`).to.equal(true);
}

/**
 * Compiler diagnostics of "the type generated from the schema ≡ the hand-written type", for each
 * [name in the schema's generated types, exported type name in typesFile]; empty when they agree.
 * Generation uses json-schema-to-typescript (a schema's title names its root type, $defs the rest).
 */
export async function typeDisagreements(
  schema: JSONSchema,
  pairs: Array<[generated: string, handWritten: string]>,
  typesFile: string,
): Promise<string[]> {
  const generated = await compile(schema, String(schema.title ?? 'Root'), {
    bannerComment: '',
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
    declareExternallyReferenced: true,
    // result and manifest schemas are self-contained: resolve nothing from disk or network
    $refOptions: { resolve: { file: false, http: false } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'schema-types-'));
  try {
    writeFileSync(join(dir, 'generated.ts'), generated);
    const checks = pairs.map(([g, h]) => `export const same_${h}: Same<G.${g}, H.${h}> = true;`).join('\n');
    writeFileSync(
      join(dir, 'check.ts'),
      `import type * as G from './generated.js';
import type * as H from ${JSON.stringify(resolve(typesFile).replace(/\.ts$/, '.js'))};
// Flattens interfaces and intersections into plain object types, keeping optionality.
type Plain<T> = T extends object ? { [K in keyof T]: Plain<T[K]> } : T;
type Same<A, B> = (<T>() => T extends Plain<A> ? 1 : 2) extends <T>() => T extends Plain<B> ? 1 : 2 ? true : false;
${checks}
`,
    );
    return typeCheckProblems(join(dir, 'check.ts'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails unless the exported type `typeName` of `typesFile` is identical to the schema's root type. */
export async function assertTypeMatchesSchema(schemaFile: string, typeName: string, typesFile: string): Promise<void> {
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as JSONSchema;
  const title = String(schema.title ?? 'Root');
  expect(await typeDisagreements(schema, [[title, typeName]], typesFile)).to.deep.equal([]);
}

/**
 * Type-checks `checkFile` (strict, NodeNext, nothing emitted) and returns each problem as the
 * offending line and the message. `onlyThisFile`: ignore problems of the files it imports.
 */
export function typeCheckProblems(checkFile: string, onlyThisFile = false): string[] {
  const program = ts.createProgram([checkFile], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => !onlyThisFile || d.file?.fileName === program.getSourceFile(checkFile)?.fileName)
    .map((d) => {
      const where =
        d.file && d.start !== undefined
          ? d.file.text.split('\n')[d.file.getLineAndCharacterOfPosition(d.start).line].trim() + ' → '
          : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
}
