import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

// The seam between the plugin and its local org (packages/local-org/README.md, "Boundaries"): the org
// imports nothing from the plugin, and the plugin imports only the org's start-up API, in one command.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageSrc = join(root, 'packages', 'local-org', 'src');
const START_COMMAND = join('src', 'commands', 'migrate', 'local-org', 'start.ts');
const START_UP_API = [
  'builtInObjects',
  'faultSettingsProblems',
  'modelSettingsProblems',
  'registerLocalOrg',
  'startLocalOrg',
];
const START_UP_TYPES = ['FaultSettings', 'LocalOrg', 'LocalOrgOptions', 'ModelSettings'];

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

type Import = { specifier: string; names: string[] };

/** The module specifiers a file imports or re-exports from, with the names of named imports. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const statement = /^\s*(?:import|export)\s+(?:type\s+)?(?:([^'";]*?)\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const match of text.matchAll(statement)) {
    const braces = /\{([^}]*)\}/.exec(match[1] ?? '');
    const names = (braces?.[1] ?? '')
      .split(',')
      .map(
        (part) =>
          part
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0],
      )
      .filter(Boolean);
    found.push({ specifier: match[2], names });
  }
  for (const match of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g))
    found.push({ specifier: match[1], names: [] });
  return found;
}

describe('local org boundary', () => {
  it('the local org imports nothing from the plugin: node built-ins, @salesforce/core and its own modules', () => {
    const outside: string[] = [];
    for (const file of sources(packageSrc)) {
      for (const { specifier } of importsOf(file)) {
        const own =
          specifier.startsWith('.') && !relative(packageSrc, resolve(dirname(file), specifier)).startsWith('..');
        if (!own && !specifier.startsWith('node:') && specifier !== '@salesforce/core') {
          outside.push(`${relative(root, file)}: ${specifier}`);
        }
      }
    }
    expect(outside).to.deep.equal([]);
    expect(sources(packageSrc).length).to.be.greaterThan(10);
  });

  it('the plugin imports only the start-up API, only in `sf migrate local-org start`', () => {
    const uses: string[] = [];
    for (const file of sources(join(root, 'src'))) {
      for (const { specifier, names } of importsOf(file)) {
        if (specifier.includes('local-org') && !specifier.includes('commands')) {
          uses.push(`${relative(root, file)}: ${specifier} { ${names.join(', ')} }`);
        }
      }
    }
    const allowed = uses.filter((use) => {
      const [file, rest] = use.split(': ');
      const names = /\{ (.*) \}/.exec(rest)?.[1].split(', ') ?? [];
      return (
        file === START_COMMAND &&
        rest.startsWith('@sf-migrate/local-org ') &&
        names.every((name) => START_UP_API.includes(name) || START_UP_TYPES.includes(name))
      );
    });
    expect(uses).to.deep.equal(allowed);
    expect(allowed.length).to.equal(1);
  });

  it('the package index exports the start-up API and nothing else at run time', async () => {
    const index = (await import('@sf-migrate/local-org')) as Record<string, unknown>;
    expect(Object.keys(index).sort()).to.deep.equal(START_UP_API);
  });
});
