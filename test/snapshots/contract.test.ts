/*
 * The deprecation-policy checks of the sf plugins, in process: a flag, a command or a schema that
 * changes by accident fails here, and every command's --json result type is compiled against the
 * type generated from its schema. Deliberate changes: `npm run snapshot:update`, then commit.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { typeCheckProblems } from '../helpers/resultSchema.js';
import {
  commandFiles,
  commandSnapshot,
  commandSnapshotFile,
  describeCommand,
  differences,
  root,
  schemaShape,
  schemaSnapshot,
  schemaSnapshotFile,
} from '../../scripts/snapshots.js';

const hint = 'If the change is deliberate, run `npm run snapshot:update` and commit the snapshot.';
const committed = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8')) as unknown;

/** The schema of a command's result: schemas/<command id with ':' → '-'>.json */
const schemaOf = (id: string): string => join(root, 'schemas', `${id.replace(/:/g, '-')}.json`);

/**
 * Compiler diagnostics of "type generated from the command's schema ≡ the result type of the
 * command's run()", for every command at once (one program, so one compile).
 */
async function resultTypeDisagreements(
  commands: Array<{ id: string; file: string; schema: JSONSchema }>,
): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  try {
    const lines = [
      '// Flattens interfaces and intersections into plain object types, keeping optionality.',
      'type Plain<T> = T extends object ? { [K in keyof T]: Plain<T[K]> } : T;',
      'type Same<A, B> = (<T>() => T extends Plain<A> ? 1 : 2) extends <T>() => T extends Plain<B> ? 1 : 2',
      '  ? true',
      '  : false;',
      'type ResultOf<C> = C extends { prototype: { run(): Promise<infer R> } } ? R : never;',
    ];
    for (const [i, { id, file, schema }] of commands.entries()) {
      const title = String(schema.title ?? 'Root');
      // eslint-disable-next-line no-await-in-loop
      const generated = await compile(schema, title, {
        bannerComment: '',
        additionalProperties: false,
        ignoreMinAndMaxItems: true,
        declareExternallyReferenced: true,
        $refOptions: { resolve: { file: false, http: false } },
      });
      writeFileSync(join(dir, `generated${i}.ts`), generated);
      const name = id.replace(/[^A-Za-z0-9]/g, '_');
      lines.push(
        `import type * as G${i} from './generated${i}.js';`,
        `import type C${i} from ${JSON.stringify(file.replace(/\.ts$/, '.js'))};`,
        `export const ${name}: Same<G${i}.${title}, ResultOf<typeof C${i}>> = true;`,
      );
    }
    writeFileSync(join(dir, 'check.ts'), `${lines.join('\n')}\n`);
    return typeCheckProblems(join(dir, 'check.ts'), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadCommands = (): Array<{ id: string; file: string; schema: JSONSchema }> =>
  commandFiles().map(({ id, file }) => ({
    id,
    file,
    schema: JSON.parse(readFileSync(schemaOf(id), 'utf8')) as JSONSchema,
  }));

describe('the plugin contract (command and schema snapshots)', function () {
  this.timeout(180_000);

  it('commands and flags match command-snapshot.json', async () => {
    const found = differences(committed(commandSnapshotFile), await commandSnapshot());
    expect(found, `command-snapshot.json differs:\n${found.join('\n')}\n${hint}`).to.deep.equal([]);
  });

  it('schemas match schema-snapshot.json', () => {
    const found = differences(committed(schemaSnapshotFile), schemaSnapshot());
    expect(found, `schema-snapshot.json differs:\n${found.join('\n')}\n${hint}`).to.deep.equal([]);
  });

  it('names the flag, the command and the property that changed', () => {
    const before = [
      describeCommand('migrate:x', {
        flags: { manifest: { type: 'option', char: 'm', required: true }, wait: { type: 'option', char: 'w' } },
      }),
    ];
    const after = [
      describeCommand('migrate:x', {
        flags: { manifest: { type: 'option', char: 'f', required: true }, keep: { type: 'boolean' } },
      }),
      describeCommand('migrate:y', {}),
    ];
    expect(differences(before, after)).to.deep.equal([
      '/migrate:x/flags/manifest/char: "m" → "f"',
      '/migrate:x/flags/wait: removed (was ' +
        '{"name":"wait","type":"option","char":"w","required":false,"multiple":false})',
      '/migrate:x/flags/keep: added {"name":"keep","type":"boolean","required":false,"multiple":false}',
      '/migrate:y: added {"command":"migrate:y","aliases":[],"json":false,"flags":[]}',
    ]);
  });

  it('a reworded description is no contract change, a dropped property is', () => {
    const schema = { type: 'object', description: 'a', properties: { runId: { type: 'string', description: 'b' } } };
    const reworded = { ...schema, description: 'c', properties: { runId: { type: 'string', description: 'd' } } };
    expect(differences(schemaShape(schema), schemaShape(reworded))).to.deep.equal([]);
    expect(differences(schemaShape(schema), schemaShape({ ...schema, properties: {} }))).to.deep.equal([
      '/properties/runId: removed (was {"type":"string"})',
    ]);
  });

  it('every command has a result schema whose type is the type its run() returns', async () => {
    const found = await resultTypeDisagreements(loadCommands());
    expect(found, found.join('\n')).to.deep.equal([]);
  });

  it('notices a result schema that lost a property of the result type', async () => {
    const commands = loadCommands().filter((c) => c.id === 'migrate:plan');
    const schema = commands[0].schema as { required: string[]; properties: Record<string, unknown> };
    schema.required = schema.required.filter((name) => name !== 'name');
    delete schema.properties.name;
    const found = await resultTypeDisagreements(commands);
    expect(found.join('\n')).to.match(/migrate_plan/);
  });
});
