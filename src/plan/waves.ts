/*
 * Run order. Steps run in waves: a wave starts when the previous one has finished. The waves are
 * either the user's (checked against every dependency) or the topological levels of the
 * dependency graph, which holds the explicit `dependsOn` edges plus the edges implied by
 * relationship columns in the CSV headers.
 */
import { Messages } from '@salesforce/core';
import type { ImpliedDependency, Operation } from '../manifest/types.js';
import { pointerOf, type Problem } from '../manifest/problems.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'manifest');

/** A parent named by a relationship column of one of the step's CSV headers. */
export type WaveRelationship = {
  column: string;
  /** undefined when the column does not say which object (polymorphic without its `Type:` prefix) */
  object?: string;
  /** the CSV whose header holds the column */
  file?: string;
};

export type WaveStep = {
  id: string;
  object: string;
  dependsOn: string[];
  /** parent objects named by relationship columns of the step's CSV header */
  relationshipObjects: string[];
  /** the same parents with the columns that name them; takes precedence over relationshipObjects */
  relationships?: WaveRelationship[];
  /** implied dependencies prefer steps that create records (insert/upsert); unset counts as creating */
  operation?: Operation;
  /** where the step is in the manifest; default /steps/<index> */
  pointer?: string;
};

export type { ImpliedDependency } from '../manifest/types.js';

export type WavePlan = {
  /** step ids by wave, in run order; without the steps caught in a cycle */
  waves: string[][];
  implied: ImpliedDependency[];
  /** the first dependency cycle found, closed: [a, b, a] */
  cycle?: string[];
  problems: Problem[];
};

type Edge = { from: number; to: number; pointer: string; column?: string };

const creates = (operation?: Operation): boolean =>
  operation === undefined || operation === 'insert' || operation === 'upsert';

export function computeWaves(steps: WaveStep[], explicit?: string[][]): WavePlan {
  const problems: Problem[] = [];
  const pointerOfStep = (i: number): string => steps[i].pointer ?? pointerOf('steps', i);
  const position = new Map<string, number>();
  steps.forEach((step, i) => {
    if (!position.has(step.id)) position.set(step.id, i);
  });

  const edges: Edge[] = [];
  const hasEdge = (from: number, to: number): boolean => edges.some((e) => e.from === from && e.to === to);
  steps.forEach((step, i) => {
    step.dependsOn.forEach((dependency, j) => {
      const to = position.get(dependency);
      const pointer = `${pointerOfStep(i)}${pointerOf('dependsOn', j)}`;
      if (to === undefined) {
        problems.push(error('UnknownDependency', pointer, [step.id, dependency, [...position.keys()].join(', ')]));
      } else if (!hasEdge(i, to)) {
        edges.push({ from: i, to, pointer });
      }
    });
  });

  const implied = impliedDependencies(steps, pointerOfStep, problems, edges);

  const cycles = findCycles(steps.length, edges);
  const inCycle = new Set(cycles.flatMap((c) => c.members));
  for (const { path } of cycles) {
    const names = path.map((i) => steps[i].id);
    const closing = edges.find((e) => e.from === path[0] && e.to === path[1])!;
    const via = path
      .slice(0, -1)
      .map((from, k) => edges.find((e) => e.from === from && e.to === path[k + 1])!)
      .filter((e) => e.column)
      .map((e) => messages.getMessage('impliedVia', [steps[e.from].id, e.column!]));
    problems.push(
      error('DependencyCycle', closing.pointer, [names.join(' → '), via.length ? ` (${via.join('; ')})` : '']),
    );
  }

  let waves: string[][];
  if (explicit) {
    problems.push(...checkExplicitWaves(steps, explicit, edges, inCycle));
    waves = explicit;
  } else {
    waves = topologicalLevels(steps, edges, inCycle);
  }

  const cycle = cycles.length ? cycles[0].path.map((i) => steps[i].id) : undefined;
  return { waves, implied, ...(cycle ? { cycle } : {}), problems };
}

function impliedDependencies(
  steps: WaveStep[],
  pointerOfStep: (i: number) => string,
  problems: Problem[],
  edges: Edge[],
): ImpliedDependency[] {
  const implied: ImpliedDependency[] = [];
  const loaders = (object: string): number[] =>
    steps.flatMap((s, k) => (s.object.toLowerCase() === object.toLowerCase() ? [k] : []));
  steps.forEach((step, i) => {
    const relationships: WaveRelationship[] =
      step.relationships ?? step.relationshipObjects.map((object) => ({ column: object, object }));
    const seenColumns = new Set<string>();
    for (const relationship of relationships) {
      if (seenColumns.has(relationship.column)) continue;
      seenColumns.add(relationship.column);
      const at = {
        pointer: `${pointerOfStep(i)}/source`,
        ...(relationship.file ? { file: relationship.file } : {}),
      };
      // A polymorphic column without its `Type:` names no object: the header check reports it (an error).
      if (!relationship.object) continue;
      const all = loaders(relationship.object).filter((k) => k !== i);
      const earlier = all.filter((k) => k < i);
      const selfReference = relationship.object.toLowerCase() === step.object.toLowerCase();
      if (earlier.length === 0) {
        // A self-reference (Account.Parent) resolves within the step's own records: nothing to warn about.
        if (selfReference) continue;
        if (all.length > 0) {
          problems.push(
            warning('ParentStepLater', at, [relationship.column, step.id, relationship.object, steps[all[0]].id]),
          );
        } else {
          problems.push(
            warning('ParentWithoutStep', at, [relationship.column, step.id, relationship.object, relationship.object]),
          );
        }
        continue;
      }
      const creating = earlier.filter((k) => creates(steps[k].operation));
      for (const parent of creating.length ? creating : earlier) {
        if (edges.some((e) => e.from === i && e.to === parent)) continue;
        edges.push({
          from: i,
          to: parent,
          pointer: pointerOfStep(i),
          column: relationship.column,
        });
        implied.push({
          step: step.id,
          dependsOn: steps[parent].id,
          column: relationship.column,
        });
      }
    }
  });
  return implied;
}

/**
 * Tarjan's strongly connected components; each component with a cycle is reported once, as a
 * concrete closed path starting at its earliest step (stable messages for the same manifest).
 */
function findCycles(count: number, edges: Edge[]): Array<{ members: number[]; path: number[] }> {
  const out = Array.from({ length: count }, () => [] as number[]);
  for (const e of edges) out[e.from].push(e.to);
  let next = 0;
  const index = new Array<number>(count).fill(-1);
  const low = new Array<number>(count).fill(0);
  const onStack = new Array<boolean>(count).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  const connect = (v: number): void => {
    index[v] = low[v] = next++;
    stack.push(v);
    onStack[v] = true;
    for (const w of out[v]) {
      if (index[w] === -1) {
        connect(w);
        low[v] = Math.min(low[v], low[w]);
      } else if (onStack[w]) {
        low[v] = Math.min(low[v], index[w]);
      }
    }
    if (low[v] === index[v]) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = false;
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (let v = 0; v < count; v++) if (index[v] === -1) connect(v);

  return components
    .filter((c) => c.length > 1 || out[c[0]].includes(c[0]))
    .map((members) => {
      const inside = new Set(members);
      const start = Math.min(...members);
      return { members, path: pathBack(start, out, inside) };
    })
    .sort((a, b) => a.path[0] - b.path[0]);
}

/** Shortest closed walk from start back to start inside one component (breadth-first). */
function pathBack(start: number, out: number[][], inside: Set<number>): number[] {
  const cameFrom = new Map<number, number>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...out[v]].sort((a, b) => a - b)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const between: number[] = [];
        for (let u = v; u !== start; u = cameFrom.get(u)!) between.unshift(u);
        return [start, ...between, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

function topologicalLevels(steps: WaveStep[], edges: Edge[], inCycle: Set<number>): string[][] {
  const level = new Map<number, number>();
  const levelOf = (v: number, visiting: Set<number>): number | undefined => {
    if (level.has(v)) return level.get(v);
    if (inCycle.has(v) || visiting.has(v)) return undefined;
    visiting.add(v);
    let result = 0;
    for (const e of edges.filter((edge) => edge.from === v)) {
      const dependency = levelOf(e.to, visiting);
      if (dependency === undefined) return undefined;
      result = Math.max(result, dependency + 1);
    }
    level.set(v, result);
    return result;
  };
  const waves: string[][] = [];
  steps.forEach((step, v) => {
    const l = levelOf(v, new Set());
    if (l === undefined || steps.findIndex((s) => s.id === step.id) !== v) return;
    (waves[l] ??= []).push(step.id);
  });
  return waves.filter((wave) => wave !== undefined);
}

function checkExplicitWaves(steps: WaveStep[], explicit: string[][], edges: Edge[], inCycle: Set<number>): Problem[] {
  const problems: Problem[] = [];
  const ids = new Set(steps.map((s) => s.id));
  const placed = new Map<string, { wave: number; pointer: string }>();
  explicit.forEach((wave, w) =>
    wave.forEach((id, j) => {
      const pointer = pointerOf('waves', w, j);
      const first = placed.get(id);
      if (!ids.has(id)) problems.push(error('UnknownStepInWaves', pointer, [id, [...ids].join(', ')]));
      else if (first) problems.push(error('StepInTwoWaves', pointer, [id, first.wave + 1, w + 1]));
      else placed.set(id, { wave: w, pointer });
    }),
  );
  for (const step of steps) {
    if (!placed.has(step.id)) problems.push(error('StepMissingFromWaves', '/waves', [step.id]));
  }
  for (const e of edges) {
    if (inCycle.has(e.from) && inCycle.has(e.to)) continue;
    const dependant = placed.get(steps[e.from].id);
    const dependency = placed.get(steps[e.to].id);
    if (!dependant || !dependency || dependency.wave < dependant.wave) continue;
    const why = e.column ? messages.getMessage('impliedBy', [e.column]) : '';
    problems.push(
      error('WavesBreakDependency', dependant.pointer, [
        steps[e.from].id,
        dependant.wave + 1,
        steps[e.to].id,
        dependency.wave + 1,
        why,
      ]),
    );
  }
  return problems;
}

function error(code: Problem['code'], pointer: string, tokens: Array<string | number>): Problem {
  return {
    severity: 'error',
    code,
    pointer,
    message: messages.getMessage(`problem.${code}`, tokens),
  };
}

function warning(
  code: Problem['code'],
  at: { pointer: string; file?: string },
  tokens: Array<string | number>,
): Problem {
  return {
    severity: 'warning',
    code,
    ...at,
    message: messages.getMessage(`problem.${code}`, tokens),
  };
}
