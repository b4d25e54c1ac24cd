/*
 * The JSON Schema half of validation: ajv with allErrors, each error turned into a Problem whose
 * pointer is the offending property (not just its parent) and whose message reads as a sentence.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Messages } from '@salesforce/core';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { pointerOf, type Problem } from './problems.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'manifest');

/** The contract, shipped in the package next to lib/ (and next to src/ in a checkout). */
const manifestSchemaPath = fileURLToPath(new URL('../../schemas/manifest.schema.json', import.meta.url));

let compiled: ValidateFunction | undefined;

const validator = (): ValidateFunction => {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(manifestSchemaPath, 'utf8')) as Record<string, unknown>;
    // verbose: the parent schema tells us the property names an unknown key could have meant.
    compiled = new Ajv2020({
      allErrors: true,
      verbose: true,
      allowUnionTypes: true,
      strict: true,
    }).compile(schema);
  }
  return compiled;
};

export function checkSchema(value: unknown): Problem[] {
  const validate = validator();
  if (validate(value)) return [];
  return dedupe((validate.errors ?? []).map(toProblem));
}

const durationPattern = '^[1-9][0-9]*(ms|s|m|h)$';
const stepIdPattern = '^[A-Za-z0-9_.-]+$';

/** keywords whose message needs only the limit: schema.minItems, schema.minLength, schema.maxLength */
const limitKeywords = new Set(['minItems', 'minLength', 'maxLength']);

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

function toProblem(error: ErrorObject): Problem {
  const at = error.instancePath;
  const problem = (pointer: string, key: string, tokens: Array<string | number>): Problem => ({
    severity: 'error',
    code: 'SchemaViolation',
    pointer,
    message: messages.getMessage(`schema.${key}`, tokens),
  });
  const params = error.params as Record<string, unknown>;
  if (limitKeywords.has(error.keyword)) return problem(at, error.keyword, [String(params.limit)]);
  switch (error.keyword) {
    case 'required':
      return problem(at + pointerOf(String(params.missingProperty)), 'required', [String(params.missingProperty)]);
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema?.properties ?? {}) as Record<string, unknown>);
      const suggestion = closest(name, known);
      return suggestion
        ? problem(at + pointerOf(name), 'unknownPropertyDidYouMean', [name, suggestion])
        : problem(at + pointerOf(name), 'unknownProperty', [name, known.join(', ')]);
    }
    case 'not':
      return problem(at, 'notAllowed', [show(error.data)]);
    case 'enum':
      return problem(at, 'enum', [show(error.data), (params.allowedValues as unknown[]).map(show).join(', ')]);
    case 'type':
      return problem(at, 'type', [show(error.data), String(params.type).replace(',', ' or ')]);
    case 'pattern':
      if (params.pattern === durationPattern) return problem(at, 'duration', [show(error.data)]);
      if (params.pattern === stepIdPattern) return problem(at, 'stepId', [show(error.data)]);
      return problem(at, 'pattern', [show(error.data), String(params.pattern)]);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return problem(at, 'bound', [show(error.data), String(params.comparison), String(params.limit)]);
    case 'minProperties':
      return problem(at, 'minProperties', [
        String(params.limit),
        Object.keys((error.parentSchema?.properties ?? {}) as Record<string, unknown>).join(', '),
      ]);
    case 'uniqueItems':
      return problem(at + pointerOf(String(params.i)), 'uniqueItems', [
        show((error.data as unknown[])[Number(params.i)]),
        String(params.j),
      ]);
    default:
      return problem(at, 'other', [error.message ?? error.keyword]);
  }
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.pointer}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A known name within two edits (case ignored) of a misspelt one. */
function closest(name: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
