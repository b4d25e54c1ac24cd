/* The per-step summary table printed at the end of `run`, `resume` and `status`. */
import type { RunOutcome } from '../engine/outcome.js';
import { printableDeep } from './printable.js';

export type SummaryRow = {
  wave: number;
  step: string;
  object: string;
  operation: string;
  records: string;
  succeeded: string;
  failed: string;
  errors: string;
  jobs: number;
  time: string;
  gate: string;
};

const count = (value: number): string => value.toLocaleString('en-US');

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes}m ${seconds % 60}s` : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function summaryTable(outcome: RunOutcome): {
  data: SummaryRow[];
  columns: Array<keyof SummaryRow>;
} {
  const data = outcome.steps.map((step) => ({
    wave: step.wave + 1,
    step: step.step,
    object: step.object,
    operation: step.operation,
    records: count(step.records),
    succeeded: count(step.succeeded),
    failed: count(step.failed + step.unprocessed),
    errors: [
      ...Object.entries(step.failuresByCode)
        .sort((a, b) => b[1] - a[1])
        .map(([code, n]) => `${code} ${count(n)}`),
      // a job that failed as a whole says why once, not once per row
      ...(step.jobErrors ?? []).map((job) => `job ${job.jobId} ${job.state}: ${job.errorMessage}`),
    ].join(', '),
    jobs: step.jobs,
    time: formatDuration(step.durationMs),
    gate: step.gate,
  }));
  return {
    // error codes come from the org's sf__Error values, step ids from the manifest
    data: printableDeep(data),
    columns: [
      'wave',
      'step',
      'object',
      'operation',
      'records',
      'succeeded',
      'failed',
      'errors',
      'jobs',
      'time',
      'gate',
    ],
  };
}
