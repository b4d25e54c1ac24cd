/*
 * What the engine tells its listeners (the progress display, the commands). The engine never
 * prints; everything a user sees about a run comes from these events or from the journal.
 */
import type { JobState } from '../journal/events.js';
import type { Operation } from '../manifest/types.js';
import type { StepSummary, RunOutcome } from './outcome.js';

export type EngineEvents = {
  'run.started': [{ runId: string; runDir: string; waves: string[][]; resumed: boolean }];
  'wave.started': [{ wave: number; steps: string[] }];
  'step.started': [
    { step: string; wave: number; object: string; operation: Operation; records: number; chunks: number },
  ];
  'job.progress': [
    {
      step: string;
      chunk: number;
      attempt: number;
      jobId: string;
      state: JobState | 'Uploading' | 'Saving';
      records: number;
      processed: number;
      failed: number;
    },
  ];
  'step.finished': [StepSummary];
  'wave.finished': [{ wave: number; gate: 'passed' | 'failed' }];
  warning: [string];
  'run.finished': [RunOutcome];
};
