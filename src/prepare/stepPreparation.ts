/*
 * The row pass in a run (docs/architecture.md §4): at a step's start, before any chunk is cut,
 * each source of a step that has row stages (stagesFor.ts) is streamed through them once into a
 * derived file under prepared/<step>/<n>/ of the run folder, with the rows not sent in
 * rejected-rows files beside it. `source.prepared` journals them with the derived file's
 * fingerprint; from then on the run, and every resume of it, cuts chunks from exactly that file
 * (partitioned first when the step is: the partition pass runs over the derived files), and the
 * step's accounting counts the rejected rows as failed records. A crash before the line leaves
 * files no event names: the next attempt empties the folder and runs the pass again, with the
 * same stages (they depend only on the manifest and on journaled state).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import type { RunState } from '../journal/state.js';
import { ensurePrivateDir, type RunFolder } from '../journal/runFolder.js';
import { sourcePrepared } from '../journal/eventBuilders.js';
import type { JournalEventBody } from '../journal/events.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { sourceChangedError } from '../csv/errors.js';
import { crashPoint } from '../engine/crashPoints.js';
import type { SnapshotQueries } from '../lookup/snapshots.js';
import type { RowStage } from './stage.js';
import { stagesFor, type PreparedStages } from './stagesFor.js';
import { runRowPass } from './rowPass.js';
import { setsAReference } from './selfReferences.js';

export class StepPreparation {
  public constructor(
    private readonly manifest: LoadedManifest,
    private readonly state: RunState,
    private readonly folder: RunFolder,
    private readonly record: (body: JournalEventBody) => Promise<void>,
    /** the target org's query jobs, for the snapshots of lookups */
    private readonly queries?: () => SnapshotQueries,
  ) {}

  /** the files the step's chunks are cut from (or partitioned from), one a source, in order */
  public async filesOf(step: ResolvedStep, signal?: AbortSignal): Promise<string[]> {
    const files: string[] = [];
    let prepared: PreparedStages | undefined;
    try {
      for (const [n, source] of step.files.entries()) {
        if (signal?.aborted) break;
        const known = this.known(step, source);
        if (known !== undefined) {
          files.push(known);
          continue;
        }
        // eslint-disable-next-line no-await-in-loop -- built once, when the first source needs them
        prepared ??= await stagesFor(step, {
          manifest: this.manifest,
          state: this.state,
          folder: this.folder,
          record: this.record,
          ...(this.queries ? { queries: this.queries } : {}),
          ...(signal ? { signal } : {}),
        });
        const { stages } = prepared;
        // eslint-disable-next-line no-await-in-loop -- one source at a time keeps the pass's memory flat
        files.push(stages.length === 0 ? source : await this.prepare(step, source, n, stages));
      }
    } finally {
      await prepared?.release();
    }
    return files;
  }

  /** the file a source was prepared into, the source when it was used as it is, or undefined */
  private known(step: ResolvedStep, source: string): string | undefined {
    const stepState = this.state.steps.get(step.id);
    const prepared = stepState?.prepared?.find((candidate) => candidate.source === source);
    if (prepared) return prepared.file.file;
    // chunks cut from the source itself (a run begun without stages) or its partitions stay so
    const used =
      (stepState?.chunks.some((chunk) => chunk.file === source && chunk.attempt === 0) ?? false) ||
      (stepState?.partitions?.some((partition) => partition.source === source) ?? false);
    return used ? source : undefined;
  }

  private async prepare(step: ResolvedStep, source: string, n: number, stages: RowStage[]): Promise<string> {
    const outDir = join(this.folder.dir, 'prepared', step.id, String(n));
    // files of an attempt a crash cut short before its journal line: nothing names them
    await rm(outDir, { recursive: true, force: true });
    await ensurePrivateDir(join(this.folder.dir, 'prepared'));
    await ensurePrivateDir(join(this.folder.dir, 'prepared', step.id));
    await ensurePrivateDir(outDir);
    const result = await runRowPass(source, stages, {
      delimiter: step.columnDelimiter,
      mapping: step.mapping,
      out: join(outDir, 'rows.csv'),
      rejectedPathFor: (k) => join(outDir, `rejected-${k}.csv`),
      ...(step.selfReferenceOf ? { keep: setsAReference.bind(undefined, step.selfReferenceOf) } : {}),
    });
    // The pass read the source without hashing it: its rows are the run's only if the source
    // still is what the run fingerprinted when it began.
    const began = this.state.started?.sources.find((candidate) => candidate.file === source);
    if (began) {
      const now = await fingerprintFile(source);
      if (now.sha256 !== began.sha256) {
        throw sourceChangedError(source, { key: 'content', tokens: [began.sha256, now.sha256] });
      }
    }
    const file = { ...(await fingerprintFile(result.file)), records: result.records };
    // the derived and rejected files are complete and durable, and nothing names them yet
    crashPoint('prepare.written');
    await this.record(sourcePrepared(step.id, source, file, result.rejected));
    return result.file;
  }
}
