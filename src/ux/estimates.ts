/*
 * How a rate and a time left read in a progress line or a status table: short, rounded, the same
 * everywhere.
 */
import type { Throughput } from '../engine/throughput.js';

/** "12m 05s", "1h 02m", "45s": short enough for a progress line. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** "1,234/s" */
export function formatRate(recordsPerSecond: number): string {
  return `${Math.round(recordsPerSecond).toLocaleString('en-US')}/s`;
}

/** "1,234/s, 3m 20s left", or undefined while nothing was processed */
export function formatThroughput(throughput: Throughput, left: (duration: string) => string): string | undefined {
  if (throughput.recordsPerSecond === undefined) return undefined;
  const rate = formatRate(throughput.recordsPerSecond);
  return throughput.etaSeconds === undefined ? rate : `${rate}, ${left(formatDuration(throughput.etaSeconds))}`;
}
