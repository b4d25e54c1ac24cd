/*
 * The live display of a run: waves as stages of @oclif/multi-stage-output, with one line per step
 * of the current wave (records processed / failed, jobs open / done, records per second and time
 * left at that rate) and the wave's own rate and time left. Without a TTY the library prints plain
 * lines on its own; with --json it prints nothing.
 */
import { MultiStageOutput } from '@oclif/multi-stage-output';
import { Messages } from '@salesforce/core';
import type { MigrationRun } from '../engine/migrationRun.js';
import { throughputOf, waveThroughput, type Throughput } from '../engine/throughput.js';
import { printable } from './printable.js';
import { formatThroughput } from './estimates.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'progress');

type StepCounts = {
  wave: number;
  records: number;
  startedAt: number;
  chunks: Map<number, { processed: number; failed: number; done: boolean }>;
  throughput: Throughput;
};

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
    stageSpecificBlock: waves.flatMap((steps, wave) => [
      ...steps.map((step) => ({
        stage: waveLabel(wave, steps),
        type: 'dynamic-key-value' as const,
        label: printable(step),
        get: (data?: Record<string, string>): string | undefined => data?.[step],
      })),
      {
        stage: waveLabel(wave, steps),
        type: 'dynamic-key-value' as const,
        label: messages.getMessage('label.waveRate'),
        get: (data?: Record<string, string>): string | undefined => data?.[waveKey(wave)],
      },
    ]),
  });
  const counts = new Map<string, StepCounts>();
  const left = (duration: string): string => messages.getMessage('left', [duration]);
  const renderWave = (wave: number): void => {
    const rates = [...counts.values()].filter((known) => known.wave === wave).map((known) => known.throughput);
    const text = formatThroughput(waveThroughput(rates), left);
    if (text) display.updateData({ [waveKey(wave)]: text });
  };
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
    const line = messages.getMessage('step.progress', [
      processed.toLocaleString('en-US'),
      known.records.toLocaleString('en-US'),
      failed.toLocaleString('en-US'),
      open,
      done,
    ]);
    known.throughput = throughputOf(known.records, processed, Date.now() - known.startedAt);
    const rate = formatThroughput(known.throughput, left);
    display.updateData({ [step]: rate ? messages.getMessage('step.rate', [line, rate]) : line });
    renderWave(known.wave);
  };

  run.on('wave.started', ({ wave, steps }) => display.goto(waveLabel(wave, steps)));
  run.on('step.started', ({ step, wave, records }) => {
    counts.set(step, { wave, records, startedAt: Date.now(), chunks: new Map(), throughput: {} });
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
    const known = counts.get(summary.step);
    if (known) {
      // a finished step has nothing left: it no longer holds its wave's estimate back
      known.throughput = {};
      renderWave(known.wave);
    }
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

function waveKey(wave: number): string {
  return `wave:${wave}`;
}
