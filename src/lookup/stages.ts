/*
 * A step's lookups as stages of the pre-upload row pass (src/prepare/stage.ts): each stage takes
 * its key column(s) out of the row and adds its field with the Id the key resolves to, or rejects
 * the row with our own code (LOOKUP_NOT_FOUND, LOOKUP_AMBIGUOUS, USER_INACTIVE) so it goes to the
 * step's dead letters and never to the org.
 *
 * Use: `openLookups(step, snapshots, options)` once the step's snapshots exist (snapshots.ts), then
 * `lookupStages(opened)`; call each stage's `columns(header)` for a source file's header before
 * applying that file's rows, and `opened.close()` when the step's pass is done.
 */
import { Messages } from '@salesforce/core';
import type { Lookup } from '../manifest/types.js';
import type { RowReject, RowStage } from '../prepare/stage.js';
import { LookupIndex, type LookupIndexOptions, type Resolution } from './lookupIndex.js';
import { lookupSpecs, shownKey, sourceKey, type LookupSpec } from './spec.js';
import type { LookupSnapshot } from './snapshots.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'lookup');

export type OpenedLookup = { spec: LookupSpec; index: LookupIndex; defaultId?: string };

export type OpenedLookups = { step: string; lookups: OpenedLookup[]; close(): Promise<void> };

/** Why a default cannot stand in for anything: undefined when it resolves to one usable record. */
function defaultProblem(spec: LookupSpec, resolution: Resolution): string | undefined {
  if (resolution.kind === 'missing') return messages.getMessage('resolvesTo.missing');
  if (resolution.kind === 'ambiguous') return messages.getMessage('resolvesTo.ambiguous', [resolution.count]);
  if (resolution.active === false && spec.inactive !== 'keep') return messages.getMessage('resolvesTo.inactive');
  return undefined;
}

/**
 * Builds the index of each lookup of the step from its snapshot (`snapshots` by snapshot key, as
 * ensureLookupSnapshots returns them) and resolves each lookup's default.
 *
 * @throws SfError `LookupDefaultUnresolvedError` when a default matches no record, several, or an
 * inactive user (unless inactive users are kept).
 */
export async function openLookups(
  step: { id: string; object: string; lookups?: Lookup[] },
  snapshots: ReadonlyMap<string, LookupSnapshot>,
  options: LookupIndexOptions,
): Promise<OpenedLookups> {
  const opened: OpenedLookup[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(opened.map((lookup) => lookup.index.close()));
  };
  const specs = lookupSpecs(step);
  // one budget for the step, shared by its lookups
  const memoryBytes = options.memoryBytes === undefined ? undefined : Math.floor(options.memoryBytes / specs.length);
  try {
    for (const spec of specs) {
      const snapshot = snapshots.get(spec.snapshotKey);
      if (!snapshot) throw new TypeError(`no snapshot for lookup ${spec.index} of step ${step.id}`);
      // eslint-disable-next-line no-await-in-loop -- one index at a time bounds the memory of the build
      const index = await LookupIndex.build(spec, snapshot, {
        spillDir: options.spillDir,
        ...(memoryBytes === undefined ? {} : { memoryBytes }),
      });
      const lookup: OpenedLookup = { spec, index };
      opened.push(lookup);
      if (spec.default !== undefined) {
        const resolution = index.resolve(sourceKey(spec, [spec.default]) ?? '');
        const problem = defaultProblem(spec, resolution);
        if (problem !== undefined || resolution.kind !== 'found') {
          const error = messages.createError('error.LookupDefaultUnresolved', [
            step.id,
            spec.default,
            String(spec.index),
            problem ?? '',
          ]);
          error.setData({ step: step.id, lookup: spec.index, default: spec.default });
          throw error;
        }
        lookup.defaultId = resolution.id;
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { step: step.id, lookups: opened, close };
}

const reject = (code: string, message: string): RowReject => ({ code, message });

/** One stage per lookup, in the manifest's order. */
export function lookupStages(opened: OpenedLookups): RowStage[] {
  return opened.lookups.map((lookup) => lookupStage(opened.step, lookup));
}

function lookupStage(stepId: string, { spec, index, defaultId }: OpenedLookup): RowStage {
  /** positions of the key columns in the input row, and of the input columns kept */
  let keyAt: number[] = [];
  let kept: number[] = [];
  let passThrough = false;
  const column = spec.columns.join(', ');

  const missing = (values: string[]): string[] | RowReject => {
    if (spec.onMissing === 'empty') return [''];
    if (spec.onMissing === 'default' && defaultId !== undefined) return [defaultId];
    return reject(
      'LOOKUP_NOT_FOUND',
      messages.getMessage('reject.LOOKUP_NOT_FOUND', [spec.label, shownKey(values), column]),
    );
  };

  /** the field's value for a row's key values, or why the row is not sent */
  const resolve = (values: string[]): string[] | RowReject => {
    const key = sourceKey(spec, values);
    if (key === undefined) return [''];
    const found = index.resolve(key);
    if (found.kind === 'missing') return missing(values);
    if (found.kind === 'ambiguous') {
      return reject(
        'LOOKUP_AMBIGUOUS',
        messages.getMessage('reject.LOOKUP_AMBIGUOUS', [found.count, spec.label, shownKey(values), column]),
      );
    }
    if (found.active === false && spec.inactive !== 'keep') {
      if (spec.inactive === 'default' && defaultId !== undefined) return [defaultId];
      return reject(
        'USER_INACTIVE',
        messages.getMessage('reject.USER_INACTIVE', [spec.label, shownKey(values), column]),
      );
    }
    return [found.id];
  };

  return {
    columns(input: readonly string[]): string[] {
      passThrough = input.includes(spec.field) && spec.columns.every((name) => !input.includes(name));
      // a dead letter of a row this lookup resolved already (a row the org failed, or one held back
      // after the lookups), resubmitted by `sf migrate retry`: it carries the Id, not the key
      if (passThrough) return [...input];
      keyAt = spec.columns.map((name) => {
        const at = input.indexOf(name);
        if (at < 0) {
          throw messages.createError('error.LookupColumnMissing', [stepId, String(spec.index), name, input.join(', ')]);
        }
        return at;
      });
      if (input.includes(spec.field)) {
        throw messages.createError('error.LookupFieldInSource', [stepId, String(spec.index), spec.field]);
      }
      kept = input.flatMap((_, at) => (keyAt.includes(at) ? [] : [at]));
      return [...kept.map((at) => input[at]), spec.field];
    },
    apply(row: readonly string[]): string[] | RowReject {
      if (passThrough) return [...row];
      const value = resolve(keyAt.map((at) => row[at] ?? ''));
      if (!Array.isArray(value)) return value;
      const out = kept.map((at) => row[at] ?? '');
      out.push(value[0]);
      return out;
    },
  };
}
