/*
 * Where a run's time went against the model's lower bound (issue 11), for `npm run bench -- --compare`.
 * Two records of one run, placed on one clock (the model's, in modelled seconds from the run's start):
 *   - the run's journal (the client: what it was doing, from its event time stamps);
 *   - the local org's model report (packages/local-org/src/processing/model-report.ts: each job's moments
 *     and the batch pool's worker-time over time).
 * Per wave the window is cut into pool-seconds (worker-seconds / workers), which add up to the window:
 * the model's work (what the bound counts), lock waits, lag (the local org's own CPU: not a real org's),
 * a partly filled pool with nothing queued, an empty pool while a closed job was cut into batches, and an
 * empty pool with nothing to do; the last is the client's, and the periods are listed with what the
 * client was doing then. Per job: the upload, the cut, the wait for the first batch, and poll lateness
 * (the model's end of the job to the client's job.finished).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ModelReportJson, PoolSegment } from '@sf-migrate/local-org';

type JournalLine = { type: string; time: string; step?: string; chunk?: number; wave?: number; jobId?: string };

/** An interval of the client's activity, in modelled ms. */
type Activity = { from: number; to: number; label: string; who: string };

/** What the client is doing between a track's previous event and this one, named by this one's type. */
const LABELS: Record<string, string> = {
  'source.prepared': 'row pass',
  'source.partitioned': 'partition pass',
  'chunk.planned': 'planning',
  'before.saved': 'before image',
  'job.creating': 'waiting for a lane',
  'job.created': 'create',
  'job.uploaded': 'upload',
  'job.closing': 'uploaded, waiting for its turn',
  'job.closed': 'close',
  'job.finished': 'in the org',
  'results.saved': 'results',
  'job.deleted': 'delete',
  'job.aborted': 'abort',
  'step.finished': 'accounting',
  'wave.started': 'between waves',
};

export type JobAttribution = {
  step: string;
  chunk: number;
  jobId: string;
  records: number;
  batches: number;
  /** modelled seconds from the run's start */
  created: number;
  /** the upload as the model timed it (its link) */
  uploadSeconds: number;
  closed: number;
  /** close to batches queued: the local org checking and cutting the upload */
  cutSeconds: number;
  firstBatch: number;
  lastBatch: number;
  /** the model's end of the job to the client's job.finished */
  pollLateSeconds: number;
  /** when the client asked for the job's status */
  pollsAt: number[];
  /** job.finished to job.deleted: results and delete */
  afterSeconds: number;
  workSeconds: number;
  lagSeconds: number;
  lockWaitSeconds: number;
};

export type WaveAttribution = {
  wave: number;
  from: number;
  to: number;
  seconds: number;
  /** pool-seconds (worker-seconds / workers), adding up to `seconds` */
  work: number;
  lockWait: number;
  lag: number;
  partlyBusy: number;
  cutting: number;
  empty: number;
  queuedIdle: number;
  /** empty-pool seconds overlapped by each client activity (activities overlap, so these may add up to more) */
  emptyBy: Record<string, number>;
};

export type Attribution = {
  workers: number;
  waves: WaveAttribution[];
  jobs: JobAttribution[];
  /** periods of 0.5 modelled s or more with no batch running or queued, and what the client was doing */
  emptyPeriods: Array<{ from: number; to: number; cutting: boolean; client: string }>;
  pool: { busyShare: number; lagShare: number; idleEmptyShare: number };
};

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

type ClientRecord = {
  origin: number;
  activities: Activity[];
  waves: Array<{ wave: number; from: number; to: number }>;
  stepWave: Map<string, number>;
  jobs: Map<string, { step: string; chunk: number; finished?: number; deleted?: number }>;
};

/** The journal on the model's clock: the client's activities, the waves, each job's step and ends. */
// eslint-disable-next-line complexity -- one pass over the journal's event types
async function readJournal(journal: string, modelled: (wall: number) => number): Promise<ClientRecord> {
  let origin = 0;
  const activities: Activity[] = [];
  const lastOf = new Map<string, number>();
  const waves: ClientRecord['waves'] = [];
  const stepWave = new Map<string, number>();
  const jobs: ClientRecord['jobs'] = new Map();
  for await (const line of createInterface({ input: createReadStream(journal), crlfDelay: Infinity })) {
    if (!line) continue;
    const event = JSON.parse(line) as JournalLine;
    const at = modelled(Date.parse(event.time));
    if (event.type === 'run.started') origin = at;
    if (event.type === 'wave.started') waves.push({ wave: event.wave!, from: at, to: at });
    if (event.type === 'wave.finished') waves.find((w) => w.wave === event.wave)!.to = at;
    if (event.type === 'step.started') stepWave.set(event.step!, event.wave!);
    if (event.jobId && event.step !== undefined) {
      const job = jobs.get(event.jobId) ?? { step: event.step, chunk: event.chunk! };
      jobs.set(event.jobId, job);
      if (event.type === 'job.finished') job.finished = at;
      if (event.type === 'job.deleted' || (event.type === 'results.saved' && job.deleted === undefined))
        job.deleted = at;
    }
    // the track an event continues: its chunk's, its step's (passes, accounting) or the run's
    const track =
      event.chunk !== undefined && event.type !== 'chunk.planned'
        ? `${event.step}#${event.chunk}`
        : (event.step ?? 'run');
    const previous = event.type === 'step.finished' ? lastOf.get(`${event.step}*`) : lastOf.get(track);
    const label = LABELS[event.type];
    if (label && previous !== undefined && at > previous)
      activities.push({ from: previous, to: at, label, who: event.step ?? 'run' });
    lastOf.set(track, at);
    if (event.type === 'chunk.planned') lastOf.set(`${event.step}#${event.chunk}`, at);
    if (event.step !== undefined) lastOf.set(`${event.step}*`, at);
    if (event.type === 'wave.finished') lastOf.set('run', at);
  }
  return { origin, activities, waves, stepWave, jobs };
}

export async function attribute(journal: string, report: ModelReportJson): Promise<Attribution> {
  // a wall-clock time on the model's clock (modelled ms since the org started)
  const modelled = (wall: number): number =>
    report.clock.modelledMs - (report.clock.wallEpochMs - wall) / report.timeScale;
  const { origin, activities, waves, stepWave, jobs } = await readJournal(journal, modelled);
  const s = (ms: number): number => round((ms - origin) / 1000);
  const W = report.pool.workers;

  const jobRows: JobAttribution[] = [];
  for (const timeline of report.jobs) {
    const job = jobs.get(timeline.id);
    if (!job) continue;
    const end = timeline.states.find((x) => ['JobComplete', 'Failed', 'Aborted'].includes(x.state))?.at;
    jobRows.push({
      step: job.step,
      chunk: job.chunk,
      jobId: timeline.id,
      records: timeline.records,
      batches: timeline.batches,
      created: s(timeline.created ?? 0),
      uploadSeconds: round(((timeline.uploaded ?? 0) - (timeline.uploadStarted ?? 0)) / 1000),
      closed: s(timeline.closed ?? 0),
      cutSeconds: round(((timeline.queued ?? 0) - (timeline.closed ?? 0)) / 1000),
      firstBatch: s(timeline.firstBatchStarted ?? 0),
      lastBatch: s(timeline.lastBatchEnded ?? 0),
      pollLateSeconds: round(((job.finished ?? 0) - (end ?? job.finished ?? 0)) / 1000),
      pollsAt: timeline.polls.map((poll) => s(poll.at)),
      afterSeconds: round(((job.deleted ?? 0) - (job.finished ?? 0)) / 1000),
      workSeconds: round(timeline.workMs / 1000),
      lagSeconds: round(timeline.lagMs / 1000),
      lockWaitSeconds: round(timeline.lockWaitMs / 1000),
    });
    // the org's side of "in the org": cutting, processing, then the client not yet knowing it ended
    if (end !== undefined && job.finished !== undefined && job.finished > end)
      activities.push({ from: end, to: job.finished, label: 'poll lateness', who: job.step });
  }
  jobRows.sort((a, b) => a.closed - b.closed);

  const segments = report.segments;
  const emptyPeriods: Attribution['emptyPeriods'] = [];
  const waveRows = waves.map((w): WaveAttribution => {
    const pool = integrate(segments, w.from, w.to, W);
    const waveJobs = report.jobs.filter((j) => stepWave.get(jobs.get(j.id)?.step ?? '') === w.wave);
    const sum = (key: 'workMs' | 'lagMs' | 'lockWaitMs'): number =>
      waveJobs.reduce((total, j) => total + j[key], 0) / W / 1000;
    const emptyBy: Record<string, number> = {};
    for (const [from, to, cutting] of emptySpans(segments, w.from, w.to)) {
      const overlapping = activities
        .filter((a) => a.to > from && a.from < to && a.label !== 'in the org')
        .map((a) => ({ ...a, overlap: (Math.min(a.to, to) - Math.max(a.from, from)) / 1000 }));
      for (const a of overlapping) emptyBy[a.label] = round((emptyBy[a.label] ?? 0) + a.overlap);
      if (to - from >= 500) {
        const byLabel = new Map<string, number>();
        for (const a of overlapping) {
          const key = `${a.who}: ${a.label}`;
          byLabel.set(key, (byLabel.get(key) ?? 0) + a.overlap);
        }
        const client = [...byLabel.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([key, overlap]) => `${key} ${round(overlap)}`)
          .join('; ');
        emptyPeriods.push({ from: s(from), to: s(to), cutting, client });
      }
    }
    const work = sum('workMs');
    const lockWait = sum('lockWaitMs');
    return {
      wave: w.wave,
      from: s(w.from),
      to: s(w.to),
      seconds: round((w.to - w.from) / 1000),
      work: round(work),
      lockWait: round(lockWait),
      // busy time of the window beyond work and lock waits: the jobs' lag (rounded apart)
      lag: round(pool.busy - work - lockWait),
      partlyBusy: round(pool.partly),
      cutting: round(pool.cutting),
      empty: round(pool.empty),
      queuedIdle: round(pool.queued),
      emptyBy,
    };
  });
  const p = report.pool;
  const all = p.workers * p.elapsedMs || 1;
  return {
    workers: W,
    waves: waveRows,
    jobs: jobRows,
    emptyPeriods,
    pool: {
      busyShare: round(p.busyMs / all, 3),
      lagShare: round(p.lagMs / all, 3),
      idleEmptyShare: round((p.idleEmptyMs + p.idleCuttingMs) / all, 3),
    },
  };
}

/** The pool's worker-time inside [from, to], in pool-seconds (worker-seconds / workers). */
function integrate(
  segments: PoolSegment[],
  from: number,
  to: number,
  workers: number,
): { busy: number; partly: number; cutting: number; empty: number; queued: number } {
  const out = { busy: 0, partly: 0, cutting: 0, empty: 0, queued: 0 };
  forEachSpan(segments, from, to, (span, [, active, queued, cutting]) => {
    const idle = (workers - active) * span;
    out.busy += active * span;
    if (queued > 0) out.queued += idle;
    else if (active > 0) out.partly += idle;
    else if (cutting > 0) out.cutting += idle;
    else out.empty += idle;
  });
  for (const key of Object.keys(out) as Array<keyof typeof out>) out[key] /= workers * 1000;
  return out;
}

/** The spans inside [from, to] with no batch running or queued, merged, and whether a job was being cut. */
function emptySpans(segments: PoolSegment[], from: number, to: number): Array<[number, number, boolean]> {
  const spans: Array<[number, number, boolean]> = [];
  forEachSpan(segments, from, to, (span, [, active, queued, cutting], start) => {
    if (active > 0 || queued > 0) return;
    const last = spans.at(-1);
    if (last && last[1] === start) {
      last[1] = start + span;
      last[2] ||= cutting > 0;
    } else spans.push([start, start + span, cutting > 0]);
  });
  return spans;
}

function forEachSpan(
  segments: PoolSegment[],
  from: number,
  to: number,
  visit: (span: number, state: PoolSegment, start: number) => void,
): void {
  let state: PoolSegment = [0, 0, 0, 0];
  let at = from;
  for (const segment of segments) {
    if (segment[0] > at) {
      const end = Math.min(segment[0], to);
      if (end > at) visit(end - at, state, at);
      at = Math.max(at, end);
    }
    state = segment;
    if (at >= to) return;
  }
  if (to > at) visit(to - at, state, at);
}

/** The attribution as text: one table of waves, one of jobs, and the empty periods. */
export function formatAttribution(a: Attribution): string {
  const lines: string[] = [];
  const table = (rows: Array<Array<string | number>>): void => {
    for (const row of rows) lines.push(`| ${row.map(String).join(' | ')} |`);
  };
  lines.push(
    `\nsf migrate, where the time went (modelled s; pool-seconds = worker-seconds / ${a.workers} workers)`,
    `pool over the whole org life: busy ${a.pool.busyShare}, of it lag ${a.pool.lagShare}; ` +
      `whole pool idle ${a.pool.idleEmptyShare}`,
  );
  table([
    ['wave', 'from', 'to', 's', 'work', 'lock wait', 'lag', 'partly busy', 'cutting', 'empty', 'empty: client doing'],
    ...a.waves.map((w) => [
      w.wave + 1,
      w.from,
      w.to,
      w.seconds,
      w.work,
      w.lockWait,
      w.lag,
      w.partlyBusy,
      w.cutting,
      w.empty,
      Object.entries(w.emptyBy)
        .sort((x, y) => y[1] - x[1])
        .slice(0, 5)
        .map(([label, secs]) => `${label} ${secs}`)
        .join('; '),
    ]),
  ]);
  lines.push('');
  table([
    [
      'job',
      'records',
      'batches',
      'created',
      'upload',
      'closed',
      'cut',
      'first batch',
      'last batch',
      'polls at',
      'late',
    ],
    ...a.jobs.map((j) => [
      `${j.step}#${j.chunk}`,
      j.records,
      j.batches,
      j.created,
      j.uploadSeconds,
      j.closed,
      j.cutSeconds,
      j.firstBatch,
      j.lastBatch,
      j.pollsAt.join(' '),
      j.pollLateSeconds,
    ]),
  ]);
  if (a.emptyPeriods.length) {
    lines.push('', 'pool empty (no batch running or queued) for 0.5 s or more:');
    for (const p of a.emptyPeriods)
      lines.push(`  ${p.from}-${p.to}${p.cutting ? ' (a job being cut)' : ''}: ${p.client || 'nothing journaled'}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Where a run's time went, in modelled seconds from run.started (journal time stamps / time scale):
 * per step its start, its first job handed to the org (job.closed), its last job finished and its
 * end; and how long the org had none of the run's jobs (closed, not yet finished) while the run
 * was going: the time the pool could not have been busy with this run.
 */
export type Timeline = {
  seconds: number;
  orgWithoutJobSeconds: number;
  steps: Record<string, { started: number; firstClosed: number; lastFinished: number; finished: number }>;
};

export async function timelineOf(journal: string, timeScale: number): Promise<Timeline> {
  let origin = 0;
  let end = 0;
  const steps: Timeline['steps'] = {};
  const closed = new Map<string, number>();
  const inOrg: Array<[number, number]> = [];
  for await (const line of createInterface({ input: createReadStream(journal), crlfDelay: Infinity })) {
    if (!line) continue;
    const event = JSON.parse(line) as { type: string; time: string; step?: string; chunk?: number };
    const at = Date.parse(event.time);
    if (event.type === 'run.started') origin = at;
    end = Math.max(end, at);
    const s = (ms: number): number => Number(((ms - origin) / 1000 / timeScale).toFixed(1));
    const step =
      event.step !== undefined
        ? (steps[event.step] ??= { started: s(at), firstClosed: -1, lastFinished: -1, finished: -1 })
        : undefined;
    const key = `${event.step}/${event.chunk}`;
    if (event.type === 'job.closed' && step) {
      closed.set(key, at);
      if (step.firstClosed < 0) step.firstClosed = s(at);
    }
    if (event.type === 'job.finished' && step) {
      inOrg.push([closed.get(key) ?? at, at]);
      step.lastFinished = s(at);
    }
    if (event.type === 'step.finished' && step) step.finished = s(at);
  }
  inOrg.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reach = origin;
  for (const [from, to] of inOrg) {
    if (to > reach) covered += to - Math.max(from, reach);
    reach = Math.max(reach, to);
  }
  const seconds = (end - origin) / 1000 / timeScale;
  return {
    seconds: Number(seconds.toFixed(1)),
    orgWithoutJobSeconds: Number((seconds - covered / 1000 / timeScale).toFixed(1)),
    steps,
  };
}
