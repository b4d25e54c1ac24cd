/*
 * One migration run: waves in order, a wave's steps in parallel, a step's chunks in parallel
 * (each driven by ChunkLifecycle through the ingest-job protocol of docs/architecture.md §4), then the step's
 * retry rounds (retryRounds) and its books (stepAccounting). The same code starts a run and
 * resumes one: a chunk simply continues from the phase its journal lines left it in.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { Messages } from '@salesforce/core';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import type { JournalEventBody } from '../journal/events.js';
import {
  runFinished,
  runResumed,
  runStarted,
  stepStarted,
  waveFinished,
  waveStarted,
} from '../journal/eventBuilders.js';
import { Journal } from '../journal/journal.js';
import { applyEvent, type RunState, type StepState } from '../journal/state.js';
import { rejectedRecords } from '../journal/preparedState.js';
import { createRunFolder, ensurePrivateDir, findRun, type RunFolder } from '../journal/runFolder.js';
import type { RunLock } from '../journal/lock.js';
import { withManifestLock } from '../journal/manifestLock.js';
import { openRunForWriting, type WritableRun } from '../journal/writableRun.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { IngestJobClient } from '../bulk/ingestJobClient.js';
import { StepPreparation } from '../prepare/stepPreparation.js';
import { QueryJobClient } from '../bulk/queryJobClient.js';
import { sharedParentWaits } from '../plan/sharedParents.js';
import { OrgDescribe } from '../bulk/orgDescribe.js';
import { forEachConcurrent, Slots } from './concurrency.js';
import { ChunkLifecycle } from './chunkLifecycle.js';
import { BeforeImageCapture } from './beforeImages.js';
import { ChunkPlanner } from './chunkPlanner.js';
import { StepPartitioning } from './stepPartitioning.js';
import { driveRound, type RoundLanes } from './stepLanes.js';
import { planRetryRound } from './retryRounds.js';
import type { ProblemSources } from './chunkProblems.js';
import { accountStep, summarizeSteps } from './stepAccounting.js';
import { sendsTheOrgNothingMore } from './orgDone.js';
import { crashPoint } from './crashPoints.js';
import type { EngineEvents } from './events.js';
import { ExitCode, type RunOutcome, type RunStatus } from './outcome.js';
import { unfinishedRunError } from './runRoot.js';
import { resumeCommand } from './commandLines.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

import type { RunOptions } from './runOptions.js';

export type { RunOptions, RunTarget } from './runOptions.js';

export class MigrationRun extends EventEmitter<EngineEvents> {
  private readonly planner: ChunkPlanner;
  private readonly partitioning: StepPartitioning;
  private readonly preparation: StepPreparation;
  private readonly lifecycle: ChunkLifecycle;
  private readonly stepStartedAt = new Map<string, number>();
  private readonly partitionPasses = new Slots(1);
  /** planned steps, each with what to call once the org is done with all of its jobs */
  private readonly orgDoneWatch = new Map<string, () => void>();
  /** fires when --wait runs out, or when one step failed and the others should stop with it */
  private stopSignal: AbortSignal;
  /** a step that fails stops its wave's other steps at their next safe point, not hours later */
  private readonly failFast = new AbortController();

  private constructor(
    public readonly manifest: LoadedManifest,
    public readonly folder: RunFolder,
    private readonly journal: Journal,
    public readonly state: RunState,
    private readonly lock: RunLock,
    private readonly options: RunOptions,
    public readonly resumed: boolean,
  ) {
    super();
    this.stopSignal = this.failFast.signal;
    const record = (body: JournalEventBody): Promise<void> => this.record(body);
    this.planner = new ChunkPlanner(state, record);
    // one query client for the run's lookup snapshots, made when the first step with lookups starts
    let queries: QueryJobClient | undefined;
    this.preparation = new StepPreparation(manifest, state, folder, record, () => {
      queries ??= new QueryJobClient(options.connection);
      return queries;
    });
    this.partitioning = new StepPartitioning(state, folder, record, this.planner, {
      ...(options.orgBatchRecords ? { batchRecords: options.orgBatchRecords } : {}),
    });
    this.lifecycle = new ChunkLifecycle({
      client: options.client ?? new IngestJobClient(options.connection),
      folder,
      record,
      planner: this.planner,
      run: {
        runId: folder.runId,
        runDir: folder.dir,
        manifest: this.manifestPath,
        username: options.username,
        orgId: options.orgId,
        instanceUrl: options.connection.instanceUrl,
      },
      ...(options.keepJobs ? { keepJobs: true } : {}),
      onProgress: (progress): boolean => this.emit('job.progress', progress),
      onWarning: (message): boolean => this.emit('warning', message),
      beforeImages: new BeforeImageCapture({
        queries: new QueryJobClient(options.connection),
        org: new OrgDescribe(options.connection),
        folder,
        record,
        planner: this.planner,
      }),
    });
  }

  public get runId(): string {
    return this.folder.runId;
  }

  /** the manifest the user runs this run with (see RunOptions.belongsTo) */
  public get manifestPath(): string {
    return this.options.belongsTo ?? this.manifest.path;
  }

  private get problemSources(): ProblemSources {
    return { folder: this.folder, planner: this.planner };
  }

  private get stopped(): boolean {
    return this.stopSignal.aborted;
  }

  /**
   * Starts a new run: fingerprints the sources, then, holding the manifest's lock (so that of
   * concurrent starts of one manifest exactly one goes ahead), refuses when an unfinished run of
   * the manifest exists (unless `beside`, i.e. --new), creates the run folder, opens it for
   * writing and journals `run.started`. With `opened`, the run folder exists already and its
   * journal holds nothing (a run that never got as far as run.started): it is started in place.
   *
   * @throws SfError `UnfinishedRunError` naming the unfinished run.
   */
  public static async start(
    manifest: LoadedManifest,
    options: RunOptions,
    startOptions: { beside?: boolean; opened?: WritableRun } = {},
  ): Promise<MigrationRun> {
    const files = [...new Set(manifest.steps.flatMap((step) => step.files))];
    const sources = await Promise.all(files.map((file) => fingerprintFile(file)));
    const owner = options.belongsTo ?? manifest.path;
    const begin = async (opened: WritableRun): Promise<MigrationRun> => {
      try {
        // the copy is what resume reads, so its hash is the one to vouch for
        const manifestSha256 = createHash('sha256')
          .update(await readFile(opened.folder.manifestCopyPath))
          .digest('hex');
        const { folder, journal, state, lock } = opened;
        const run = new MigrationRun(manifest, folder, journal, state, lock, options, false);
        await run.record(
          runStarted({
            runId: opened.folder.runId,
            manifest: owner,
            manifestSha256,
            username: options.username,
            orgId: options.orgId,
            instanceUrl: options.connection.instanceUrl,
            apiVersion: options.connection.getApiVersion(),
            sources,
            ...(options.rollbackOf ? { rollbackOf: options.rollbackOf } : {}),
          }),
        );
        return run;
      } catch (error) {
        await opened.release();
        throw error;
      }
    };
    if (startOptions.opened) return begin(startOptions.opened);
    return withManifestLock(manifest.runFolder, owner, async () => {
      if (!startOptions.beside) {
        const unfinished = await findRun(manifest.runFolder, undefined, { manifest: owner });
        if (unfinished) throw unfinishedRunError(unfinished.runId, owner, options.username);
      }
      const folder = await createRunFolder(manifest.runFolder, manifest.path, undefined, owner, {
        ...(options.rollbackOf ? { rollbackOf: options.rollbackOf } : {}),
      });
      // the window where a folder exists without a journal, with the manifest lock held
      crashPoint('run.folder');
      return begin(await openRunForWriting(folder, { create: true }));
    });
  }

  /**
   * continues a run opened for writing whose journal was replayed into `opened.state`; the caller
   * has checked the org, the manifest and the sources, and reconciled the org's jobs with the journal
   */
  public static async continue(
    manifest: LoadedManifest,
    opened: WritableRun,
    options: RunOptions,
  ): Promise<MigrationRun> {
    const run = new MigrationRun(manifest, opened.folder, opened.journal, opened.state, opened.lock, options, true);
    await run.record(runResumed(process.pid, hostname()));
    return run;
  }

  /**
   * Runs every wave that is not finished. `stop` (the --wait budget) makes the run return
   * 'waiting' at the next safe point: jobs already closed keep processing in the org.
   */
  public async execute(stop?: AbortSignal): Promise<RunOutcome> {
    this.stopSignal = stop ? AbortSignal.any([stop, this.failFast.signal]) : this.failFast.signal;
    this.emit('run.started', {
      runId: this.runId,
      runDir: this.folder.dir,
      waves: this.manifest.waves,
      resumed: this.resumed,
    });
    try {
      await this.prepareFolders();
      const outcome = await this.runWaves();
      this.emit('run.finished', outcome);
      return outcome;
    } finally {
      await this.journal.close();
      await this.lock.release();
    }
  }

  /**
   * Every folder a chunk of this run will write into (results, retry rounds, dead letters), made
   * before the first job exists: a folder that cannot be made fails the run while nothing was sent,
   * not after a job loaded rows whose results then have nowhere to go.
   */
  private async prepareFolders(): Promise<void> {
    const folders = this.manifest.steps.flatMap((step) => [
      this.folder.resultsDir(step.id),
      this.folder.retryDir(step.id),
      dirname(this.folder.deadLetterPath(step.id)),
    ]);
    for (const folder of new Set(folders)) {
      // eslint-disable-next-line no-await-in-loop -- a few folders, in order, so an error names the first bad one
      await ensurePrivateDir(folder);
    }
  }

  private async runWaves(): Promise<RunOutcome> {
    if (this.state.finished) return this.outcome(this.state.finished.status, this.state.finished.reason);
    const concurrency = this.options.concurrency ?? this.manifest.concurrency;
    for (const [wave, stepIds] of this.manifest.waves.entries()) {
      const known = this.state.waves.get(wave);
      if (known?.gate === 'passed') continue;
      if (known?.gate === 'failed') return this.finishRun('failed', messages.getMessage('reason.waveGate', [wave + 1]));
      if (!known) {
        // eslint-disable-next-line no-await-in-loop
        await this.record(waveStarted(wave, stepIds));
      }
      this.emit('wave.started', { wave, steps: stepIds });
      const steps = stepIds.map((id) => this.step(id));
      // Steps sharing a parent object take turns in the org (plan/sharedParents.ts). A step waits
      // only for earlier ones and the wave's steps start in order, so no step waits for one that
      // has no lane to run in. A step that ended, however it ended, lets the ones after it go.
      const waits = sharedParentWaits(steps);
      const ended = new Map(steps.map((step) => [step.id, settlement()]));
      // eslint-disable-next-line no-await-in-loop
      await forEachConcurrent(
        steps,
        concurrency,
        async (step) => {
          const after = waits.get(step.id)?.after ?? [];
          const turn = after.length ? Promise.all(after.map((id) => ended.get(id)!.promise)) : undefined;
          try {
            await this.runStep(step, wave, turn, ended.get(step.id)!.resolve);
          } finally {
            ended.get(step.id)!.resolve();
          }
        },
        () => this.failFast.abort(),
      );
      if (this.stopped) return this.outcome('waiting');
      const gate = stepIds.every((id) => this.state.steps.get(id)?.finished?.gate === 'passed') ? 'passed' : 'failed';
      // eslint-disable-next-line no-await-in-loop
      await this.record(waveFinished(wave, gate));
      this.emit('wave.finished', { wave, gate });
      if (gate === 'failed') return this.finishRun('failed', messages.getMessage('reason.waveGate', [wave + 1]));
    }
    const anyFailures = [...this.state.steps.values()].some(
      (step) => (step.finished?.failed ?? 0) + (step.finished?.unprocessed ?? 0) > 0,
    );
    return this.finishRun(anyFailures ? 'completedWithFailures' : 'succeeded');
  }

  private async finishRun(
    status: 'succeeded' | 'completedWithFailures' | 'failed',
    reason?: string,
  ): Promise<RunOutcome> {
    await this.record(runFinished(status, reason));
    return this.outcome(status, reason);
  }

  private outcome(status: RunStatus, reason?: string): RunOutcome {
    return {
      runId: this.runId,
      runDir: this.folder.dir,
      status,
      ...(reason ? { reason } : {}),
      steps: summarizeSteps(this.manifest, this.state),
      ...(status === 'waiting' ? { resumeCommand: resumeCommand(this.manifestPath, this.runId) } : {}),
    };
  }

  private step(id: string): ResolvedStep {
    const step = this.manifest.steps.find((candidate) => candidate.id === id);
    if (!step) throw messages.createError('error.UnknownStep', [id]);
    return step;
  }

  private stepState(id: string): StepState {
    const state = this.state.steps.get(id);
    if (!state) throw messages.createError('error.UnknownStep', [id]);
    return state;
  }

  /**
   * `turn`: the step's jobs are handed to the org only once it settles (the earlier steps of the
   * wave it shares a parent object with have ended); until then it partitions, plans and uploads
   * its first jobs. Only the scheduling changes: every chunk goes through the same protocol, so a
   * resumed wave continues each step from its journal and simply waits its turn again. `orgDone` is
   * called once the org is done with the step's jobs (orgDone.ts), which may be before the step ends.
   */
  private async runStep(
    step: ResolvedStep,
    wave: number,
    turn?: Promise<unknown>,
    orgDone?: () => void,
  ): Promise<void> {
    if (this.state.steps.get(step.id)?.status === 'finished') return;
    if (this.stopped) return;
    if (this.state.steps.get(step.id)?.status !== 'running') {
      await this.record(stepStarted(step.id, wave, step));
    }
    this.stepStartedAt.set(step.id, this.stepStartedAt.get(step.id) ?? Date.now());
    // the row pass (value maps, lookups, orphan hold-back) first, then lock-aware jobs: a source with
    // a parent key column is cut from its derived, grouped files. One step's passes at a time: each
    // holds up to its memory budget, and two steps of a wave start together (the one that waits its
    // turn prepares meanwhile), which doubled peak RSS.
    const pass = await this.partitionPasses.acquire(this.stopSignal);
    if (!pass) return;
    let files: string[];
    try {
      const prepared = await this.preparation.filesOf(step, this.stopSignal);
      files = await this.partitioning.filesOf(step, this.stopSignal, prepared);
    } finally {
      pass();
    }
    for (const file of files) {
      // eslint-disable-next-line no-await-in-loop
      await this.planner.ensurePlanned(step, file, 0, this.stopSignal);
    }
    // a stop may have cut planning short: a watch over part of the step's chunks would open the turn
    if (orgDone && !this.stopped) {
      this.orgDoneWatch.set(step.id, orgDone);
      this.checkOrgDone(step.id);
    }
    const sourceChunks = this.stepState(step.id).chunks.filter((chunk) => chunk.attempt === 0);
    this.emit('step.started', {
      step: step.id,
      wave,
      object: step.object,
      operation: step.operation,
      records: sourceChunks.reduce((sum, chunk) => sum + chunk.records, rejectedRecords(this.stepState(step.id))),
      chunks: sourceChunks.length,
    });

    const parallelism = this.options.parallelism ?? step.parallelism;
    const lanes: RoundLanes = {
      parallelism,
      processing: new Slots(parallelism, turn),
      ...(turn ? { turn } : {}),
      serialChains: this.partitioning.serialChains(step.id),
      drive: (chunk, inOrg) => this.lifecycle.drive(step, chunk, this.stopSignal, inOrg),
      onFailure: () => this.failFast.abort(),
    };
    for (let attempt = 0; ; attempt++) {
      const round = this.stepState(step.id).chunks.filter((chunk) => chunk.attempt === attempt);
      // eslint-disable-next-line no-await-in-loop
      await driveRound(round, lanes);
      if (this.stopped) return;
      if (attempt >= step.retry.attempts) break;
      // eslint-disable-next-line no-await-in-loop
      const planned = await planRetryRound(step, this.stepState(step.id), attempt + 1, this.problemSources);
      if (planned === 0) break;
    }
    await this.finishStep(step, wave);
  }

  private async finishStep(step: ResolvedStep, wave: number): Promise<void> {
    const startedAt = this.stepStartedAt.get(step.id) ?? Date.now();
    await this.record(await accountStep(step, this.stepState(step.id), this.problemSources, Date.now() - startedAt));
    const summary = summarizeSteps(this.manifest, this.state).find((candidate) => candidate.step === step.id);
    if (summary) this.emit('step.finished', { ...summary, wave });
  }

  /** write-ahead: the line is on disk before the caller goes on to the side effect it announces */
  private async record(body: JournalEventBody): Promise<void> {
    const event = await this.journal.append(body);
    applyEvent(this.state, event);
    crashPoint(body.type);
    if (body.type === 'job.finished') this.checkOrgDone(body.step);
  }

  /** a planned step the org is done with lets the steps waiting their turn behind it go (orgDone.ts) */
  private checkOrgDone(stepId: string): void {
    const done = this.orgDoneWatch.get(stepId);
    if (!done || !sendsTheOrgNothingMore(this.stepState(stepId))) return;
    this.orgDoneWatch.delete(stepId);
    done();
  }
}

/** a promise and the function that resolves it */
function settlement(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export function exitCodeOf(outcome: RunOutcome): number {
  return ExitCode[outcome.status];
}
