/*
 * What changed in a manifest since a run began, for the warning resume gives: the run goes on
 * from its own copy, and the user should know that today's edits are not part of it. Reported as
 * top-level keys (`defaults`, `waves`, …) and steps by id (`steps[Contact]`), which is what a
 * person edits; values are never shown (they may name customer data paths).
 */

type Json = unknown;

const stripBom = (text: string): string => text.replace(/^\uFEFF/, '');

function parse(bytes: Uint8Array): Record<string, Json> | undefined {
  try {
    const value = JSON.parse(stripBom(Buffer.from(bytes).toString('utf8'))) as Json;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, Json>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** a step's id as the manifest defines it: its `id`, else its object */
function stepId(step: Json, index: number): string {
  if (typeof step === 'object' && step !== null) {
    const { id, object } = step as { id?: unknown; object?: unknown };
    if (typeof id === 'string') return id;
    if (typeof object === 'string') return object;
  }
  return `#${index + 1}`;
}

function stepsById(steps: Json): Map<string, string> {
  const byId = new Map<string, string>();
  if (Array.isArray(steps)) steps.forEach((step, index) => byId.set(stepId(step, index), JSON.stringify(step)));
  return byId;
}

/**
 * The keys in which `current` differs from `copy` (both the manifest file's bytes): changed,
 * added or removed top-level keys, `steps[<id>]` for each changed, added or removed step, and
 * `steps (order)` when only their order changed. Compared as parsed JSON: whitespace does not
 * count, the order of keys inside a value does.
 */
export function manifestChanges(copy: Uint8Array, current: Uint8Array): string[] {
  if (Buffer.compare(Buffer.from(copy), Buffer.from(current)) === 0) return [];
  const before = parse(copy);
  const after = parse(current);
  if (!before || !after) return ['(the file is no longer a JSON object)'];
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'steps') continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed.push(key);
  }
  const oldSteps = stepsById(before.steps);
  const newSteps = stepsById(after.steps);
  const stepChanges = [...new Set([...oldSteps.keys(), ...newSteps.keys()])].filter(
    (id) => oldSteps.get(id) !== newSteps.get(id),
  );
  changed.push(...stepChanges.map((id) => `steps[${id}]`));
  if (stepChanges.length === 0 && [...oldSteps.keys()].join('\n') !== [...newSteps.keys()].join('\n')) {
    changed.push('steps (order)');
  }
  return changed;
}
