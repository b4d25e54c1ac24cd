/*
 * The live display of a run: waves as stages of @oclif/multi-stage-output, with one line per step
 * of the current wave (records processed / failed, jobs open / done). Without a TTY the library
 * prints plain lines on its own; with --json it prints nothing.
 */
import { MultiStageOutput } from '@oclif/multi-stage-output';
import { Messages } from '@salesforce/core';
import type { MigrationRun } from '../engine/migrationRun.js';
import { printable } from './printable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'progress');

type StepCounts = { records: number; chunks: Map<number, { processed: number; failed: number; done: boolean }> };

export function waveLabel(wave: number, steps: string[]): string {
  return printable(messages.getMessage('stage.wave', [wave + 1, steps.join(', ')]));
}

/** subscribes a display to the run's events; returns a function that closes it */
export function attachProgress(
  run: MigrationRun,
  options: { jsonEnabled: boolean },
): (status: 'completed' | 'failed' | 'paused') => void {
  const waves = run.manifest.waves;
  const stages = [...waves.map((steps, wave) => waveLabel(wave, steps)), messages.getMessage('stage.results')];
  const display = new MultiStageOutput<Record<string, string>>({
    jsonEnabled: options.jsonEnabled,
    stages,
    title: printable(messages.getMessage('title', [run.manifest.name, run.runId])),
    showElapsedTime: true,
    showStageTime: true,
    preStagesBlock: [
      { type: 'static-key-value', label: messages.getMessage('label.runFolder'), get: () => printable(run.folder.dir) },
    ],
    stageSpecificBlock: waves.flatMap((steps, wave) =>
      steps.map((step) => ({
        stage: waveLabel(wave, steps),
        type: 'dynamic-key-value' as const,
        label: printable(step),
        get: (data?: Record<string, string>): string | undefined => data?.[step],
      })),
    ),
  });
  const counts = new Map<string, StepCounts>();
  const render = (step: string): void => {
    const known = counts.get(step);
    if (!known) return;
    let processed = 0;
    let failed = 0;
    let done = 0;
    for (const chunk of known.chunks.values()) {
      processed += chunk.processed;
      failed += chunk.failed;
      if (chunk.done) done++;
    }
    const open = known.chunks.size - done;
    display.updateData({
      [step]: messages.getMessage('step.progress', [
        processed.toLocaleString('en-US'),
        known.records.toLocaleString('en-US'),
        failed.toLocaleString('en-US'),
        open,
        done,
      ]),
    });
  };

  run.on('wave.started', ({ wave, steps }) => display.goto(waveLabel(wave, steps)));
  run.on('step.started', ({ step, records }) => {
    counts.set(step, { records, chunks: new Map() });
    render(step);
  });
  run.on('job.progress', (progress) => {
    const known = counts.get(progress.step);
    if (!known) return;
    const done = ['JobComplete', 'Failed', 'Aborted'].includes(progress.state);
    // retries re-process rows already counted as failed: show the source chunks' view only
    if (progress.attempt > 0 && !done) return;
    known.chunks.set(progress.chunk, { processed: progress.processed, failed: progress.failed, done });
    render(progress.step);
  });
  run.on('step.finished', (summary) => {
    display.updateData({
      [summary.step]: messages.getMessage('step.finished', [
        summary.succeeded.toLocaleString('en-US'),
        summary.records.toLocaleString('en-US'),
        summary.failed.toLocaleString('en-US'),
        summary.jobs,
        summary.gate,
      ]),
    });
  });
  // a run stopped by --wait or a signal has not reached its results: its wave stays the last stage
  run.on('run.finished', (outcome) => {
    if (outcome.status !== 'waiting') display.goto(messages.getMessage('stage.results'));
  });
  return (status: 'completed' | 'failed' | 'paused') => display.stop(status);
}
