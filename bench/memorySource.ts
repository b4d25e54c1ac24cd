/*
 * What the per-stage memory benches share (prepare-memory.ts, transfer-memory.ts): the child file
 * they read, written once by bench/partition-memory.mjs in a process of its own (so writing it costs
 * the measured process nothing), and the process's peak resident set.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** <dir>/contacts-<rows>.csv (rows/4 parents, 5% of them holding half of the rows), written when missing */
export function contactsSource(rows: number, dir: string): string {
  const source = join(dir, `contacts-${rows}.csv`);
  if (!existsSync(source)) {
    const made = spawnSync(
      process.execPath,
      [join(import.meta.dirname, 'partition-memory.mjs'), String(rows), '16', dir, '--write-only'],
      { stdio: 'inherit' },
    );
    if (made.status !== 0) throw new Error('could not write the source');
  }
  return source;
}

/** this process's peak resident set (VmHWM), in MB */
export function peakMb(): number {
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024);
}
