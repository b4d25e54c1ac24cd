/*
 * A job's three result files saved into the run folder: the successful results always, the failed
 * and unprocessed ones only when the job's journaled end does not prove them empty. Used by the
 * chunk lifecycle (chunkLifecycle.ts) and `sf migrate job results` (jobControl.ts).
 */
import type { JobState } from '../journal/events.js';
import type { IngestJobClient } from '../bulk/ingestJobClient.js';
import { crashPoint } from './crashPoints.js';
import { emptyResultHeaders, writeHeaderOnlyResult } from './resultFiles.js';

export type SavedChunkResults = {
  /** absolute paths */
  files: { success: string; failed: string; unprocessed: string };
  counts: { success: number; failed: number; unprocessed: number };
};

/**
 * What the journal says of a job's end (`job.finished`) and of what was uploaded to it: the facts
 * that can show a result file must be empty before it is asked for.
 */
export type JobEnd = {
  state: JobState;
  processed: number;
  failed: number;
  /** records uploaded to the job (the chunk's), when known */
  uploaded?: number;
};

/**
 * Streams a job's result files to `files`, one after the other: three parallel downloads per job
 * would multiply the open connections of a wide wave for no gain in a step that has other jobs to
 * overlap with. Shared by the engine and `sf migrate job results`.
 *
 * The successful results are always downloaded (verify and rollback read their sf__Id and
 * sf__Created). Given the job's `end`, a failed or unprocessed file the counts prove empty is not
 * asked for: it is written here, header only, derived from the successful file's header, exactly as
 * the org would have sent it, so everything that reads result files sees the same thing. The failed
 * file's proof: the job is JobComplete, the saved successful rows equal processed − failed (the
 * counts agree with the file the org gave), and failed = 0. The unprocessed file's needs besides:
 * the job processed every record uploaded to it, and the failed rows (downloaded or not) number
 * `failed`; records uploaded unknown (a job outside a run) downloads it. Anything else (Failed or
 * Aborted, counts that disagree with each other or with a file, a success header not in the org's
 * shape) downloads all three, as without `end`.
 *
 * Public evidence for those readings: the Bulk API 2.0 guide, "Get Job Unprocessed Record Results":
 * "Unprocessed rows are not the same as failed rows. Failed rows are processed but encounter an
 * error during processing" (so processed counts failed rows), and unprocessed results are "for
 * failed or aborted jobs"; "Understanding Bulk API 2.0 Ingest": a job whose batches cannot all be
 * processed (retries spent, daily allocation exceeded) is moved to Failed. plugin-data's
 * `data bulk results` (src/commands/data/bulk/results.ts) downloads failed results of a JobComplete
 * job only when numberRecordsFailed > 0 and its unprocessed results never, taking processed − failed
 * as the successes. The guide also says "Results are not recorded for batches that exceed the daily
 * batch allocation": such a job is Failed, and the success-row check above catches a file that
 * lacks rows the counts promise. No public source states the counts of a JobComplete job outright;
 * the checks make a wrong reading cost a download, never a lost row.
 *
 * Exactly once: the decision reads only the journaled `end` and the successful file just saved, so
 * a resume after a crash between writing these files and journaling `results.saved` (the crash
 * point 'results.synthesised') downloads the successful results again, decides the same, and
 * rewrites the same files atomically before journaling.
 */
export async function downloadResults(
  client: IngestJobClient,
  jobId: string,
  files: SavedChunkResults['files'],
  end?: JobEnd,
): Promise<SavedChunkResults['counts']> {
  const success = await client.saveResults(jobId, 'successful', files.success);
  crashPoint('results.middle');
  // the counts agree with each other and with the file the org gave: then failed = 0 proves the
  // failed file empty, whether or not the records uploaded are known (`sf migrate job results` of a
  // job outside a run knows only the org's counts)
  const consistent =
    end?.state === 'JobComplete' &&
    end.failed >= 0 &&
    end.processed >= end.failed &&
    success.records === end.processed - end.failed;
  const allProcessed = consistent && end.uploaded !== undefined && end.processed === end.uploaded;
  const headers = consistent ? await emptyResultHeaders(files.success) : undefined;
  let written = false;
  let failed: number;
  if (headers && end?.failed === 0) {
    await writeHeaderOnlyResult(files.failed, headers.failed);
    failed = 0;
    written = true;
  } else {
    failed = (await client.saveResults(jobId, 'failed', files.failed)).records;
  }
  let unprocessed: number;
  if (headers && allProcessed && failed === end?.failed) {
    await writeHeaderOnlyResult(files.unprocessed, headers.unprocessed);
    unprocessed = 0;
    written = true;
  } else {
    unprocessed = (await client.saveResults(jobId, 'unprocessed', files.unprocessed)).records;
  }
  if (written) crashPoint('results.synthesised');
  return { success: success.records, failed, unprocessed };
}
