/*
 * The plugin's public surface, as data that is committed and compared in a unit test: the
 * commands with their flags (command-snapshot.json) and the shape of every schema in schemas/
 * (schema-snapshot.json). A flag renamed or a result field dropped by accident then fails the
 * suite; a deliberate change is recorded with `npm run snapshot:update` and shows up in review.
 *
 * @oclif/plugin-command-snapshot does this for the sf plugins, but it runs as a plugin of the CLI
 * and its schema half generates schemas from the TypeScript types, which would overwrite the
 * hand-written, documented schemas here; this file keeps the same contract with no new tooling.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const commandSnapshotFile = join(root, 'command-snapshot.json');
export const schemaSnapshotFile = join(root, 'schema-snapshot.json');

export type FlagEntry = {
  name: string;
  type: 'boolean' | 'option';
  char?: string;
  required: boolean;
  multiple: boolean;
  options?: string[];
  aliases?: string[];
  charAliases?: string[];
  /** what the value must be and how it relates to other flags (see `constraintKeys`) */
  constraints?: Record<string, unknown>;
};

export type CommandEntry = {
  command: string;
  aliases: string[];
  json: boolean;
  flags: FlagEntry[];
};

/**
 * Flag properties that change what a user may pass: bounds, a duration's unit, an id's length,
 * --no-, a file that must exist, flags it needs or excludes. (oclif's `type` only says boolean or
 * option, so without these an integer flag turned duration flag would go unnoticed.)
 */
const constraintKeys = ['min', 'max', 'unit', 'length', 'startsWith', 'allowNo', 'exists', 'dependsOn', 'exclusive'];

type FlagLike = {
  type: 'boolean' | 'option';
  char?: string;
  required?: boolean;
  multiple?: boolean;
  options?: readonly string[];
  aliases?: string[];
  charAliases?: string[];
};

type CommandLike = {
  aliases?: string[];
  enableJsonFlag?: boolean;
  baseFlags?: Record<string, FlagLike>;
  flags?: Record<string, FlagLike>;
};

/** The command files under src/commands, as oclif names them: folders and file name joined by ':'. */
export function commandFiles(): Array<{ id: string; file: string }> {
  const dir = join(root, 'src', 'commands');
  const found: Array<{ id: string; file: string }> = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        found.push({ id: relative(dir, path).replace(/\.ts$/, '').split(sep).join(':'), file: path });
      }
    }
  };
  walk(dir);
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

export function describeCommand(id: string, command: CommandLike): CommandEntry {
  const flags = { ...(command.baseFlags ?? {}), ...(command.flags ?? {}) };
  return {
    command: id,
    aliases: [...(command.aliases ?? [])].sort(),
    json: command.enableJsonFlag === true,
    flags: Object.entries(flags)
      .map(([name, flag]): FlagEntry => ({
        name,
        type: flag.type,
        ...(flag.char ? { char: flag.char } : {}),
        required: flag.required === true,
        multiple: flag.multiple === true,
        ...(flag.options ? { options: [...flag.options] } : {}),
        ...(flag.aliases?.length ? { aliases: [...flag.aliases].sort() } : {}),
        ...(flag.charAliases?.length ? { charAliases: [...flag.charAliases].sort() } : {}),
        ...constraintsOf(flag),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function constraintsOf(flag: FlagLike): { constraints?: Record<string, unknown> } {
  const found = Object.fromEntries(
    constraintKeys
      .map((key) => [key, (flag as Record<string, unknown>)[key]] as const)
      .filter(([, value]) => value !== undefined && value !== false),
  );
  return Object.keys(found).length ? { constraints: found } : {};
}

export async function commandSnapshot(): Promise<CommandEntry[]> {
  const entries: CommandEntry[] = [];
  for (const { id, file } of commandFiles()) {
    // eslint-disable-next-line no-await-in-loop
    const module = (await import(pathToFileURL(file).href)) as { default: CommandLike };
    entries.push(describeCommand(id, module.default));
  }
  return entries;
}

/** What a schema promises, without the prose: a reworded description is not a contract change. */
export function schemaShape(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(schemaShape);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'description' && key !== 'examples' && key !== '$comment')
      .map(([key, value]) => [key, key === 'const' || key === 'default' ? value : schemaShape(value)]),
  );
}

export function schemaFiles(): string[] {
  return readdirSync(join(root, 'schemas'))
    .filter((name) => name.endsWith('.json'))
    .sort();
}

export function schemaSnapshot(): Record<string, unknown> {
  return Object.fromEntries(
    schemaFiles().map((name) => [
      name,
      schemaShape(JSON.parse(readFileSync(join(root, 'schemas', name), 'utf8')) as unknown),
    ]),
  );
}

/** Readable differences between a committed snapshot and the current one, as JSON paths. */
export function differences(committed: unknown, current: unknown, at = ''): string[] {
  if (JSON.stringify(committed) === JSON.stringify(current)) return [];
  const bothObjects =
    typeof committed === 'object' &&
    committed !== null &&
    typeof current === 'object' &&
    current !== null &&
    Array.isArray(committed) === Array.isArray(current);
  if (!bothObjects) return [`${at || '/'}: ${JSON.stringify(committed)} → ${JSON.stringify(current)}`];
  const keyed = (value: object): Map<string, unknown> =>
    new Map(
      Array.isArray(value) ? value.map((item: unknown, i) => [keyOf(item) ?? String(i), item]) : Object.entries(value),
    );
  const before = keyed(committed);
  const after = keyed(current);
  const found: string[] = [];
  for (const [key, value] of before) {
    if (!after.has(key)) found.push(`${at}/${key}: removed (was ${JSON.stringify(value)})`);
    else found.push(...differences(value, after.get(key), `${at}/${key}`));
  }
  for (const [key, value] of after) {
    if (!before.has(key)) found.push(`${at}/${key}: added ${JSON.stringify(value)}`);
  }
  return found;
}

/** Commands and flags are listed by name, so a diff names them instead of an index. */
function keyOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const named = item as { command?: unknown; name?: unknown };
  if (typeof named.command === 'string') return named.command;
  if (typeof named.name === 'string') return named.name;
  return undefined;
}
