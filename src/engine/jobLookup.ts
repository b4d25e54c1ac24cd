/*
 * Finding a job of a run for the job commands (`sf migrate job status|resume|abort|results`): the
 * orgs they reach (--target-org or the org a job's index entry names), a job id resolved through
 * the job index to its entry and a client on its org, the job's place in its run as the journal
 * has it, and the org's info on the job with NOT_FOUND turned into the commands' own error.
 */
import { dirname } from 'node:path';
import { Messages, Org } from '@salesforce/core';
import { JobIndex, type JobIndexEntry } from '../journal/jobIndex.js';
import { normalizeSalesforceId } from '../journal/salesforceId.js';
import { runFolder, type RunFolder } from '../journal/runFolder.js';
import { exists } from '../journal/durable.js';
import { findChunk, replayJournal, type ChunkPhase, type ChunkState } from '../journal/state.js';
import { IngestJobClient } from '../bulk/ingestJobClient.js';
import { BulkApiError } from '../bulk/errors.js';
import type { IngestJobInfo } from '../bulk/types.js';
import type { Operation } from '../manifest/types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'job.control');

/** how the job commands reach an org */
export type JobOrgs = {
  /** the org of --target-org: only jobs of this org are looked up */
  target?: { orgId: string; username: string; client: IngestJobClient };
  /** a client on the org a job was created in (the username of its index entry) */
  connect(username: string): Promise<IngestJobClient>;
};

/** JobOrgs on the CLI's authenticated orgs (@salesforce/core), honouring --api-version */
export async function cliJobOrgs(targetOrg: string | undefined, apiVersion?: string): Promise<JobOrgs> {
  const target = targetOrg ? await Org.create({ aliasOrUsername: targetOrg }) : undefined;
  return {
    ...(target
      ? {
          target: {
            orgId: target.getOrgId(),
            username: target.getUsername() ?? '',
            client: new IngestJobClient(target.getConnection(apiVersion)),
          },
        }
      : {}),
    async connect(username: string): Promise<IngestJobClient> {
      const org = await Org.create({ aliasOrUsername: username });
      return new IngestJobClient(org.getConnection(apiVersion));
    },
  };
}

/** where a job sits in its run, from the job index and the run's journal */
export type JobRunInfo = {
  runId: string;
  runDir: string;
  manifest: string;
  username: string;
  step: string;
  chunk: number;
  object: string;
  operation: Operation;
  /** the chunk's phase in the journal; `aborted` when the chunk has moved on to another job; absent when the run folder is gone */
  phase?: ChunkPhase | 'aborted';
  attempt?: number;
};

export type ResolvedJob = { jobId: string; entry?: JobIndexEntry; client: IngestJobClient };

/**
 * A job id (15 or 18 characters) with its index entry and a client on its org. With a target org,
 * only that org's entries count, and a job indexed for another org is refused; without one, the
 * job must be in the index (its entry names the org).
 */
export async function resolveJob(jobId: string, orgs: JobOrgs): Promise<ResolvedJob> {
  const id = normalizeSalesforceId(jobId);
  if (orgs.target) {
    const entry = await JobIndex.find(id, { orgId: orgs.target.orgId });
    if (!entry) {
      const elsewhere = await JobIndex.find(id);
      if (elsewhere) {
        const error = messages.createError(
          'error.JobOfAnotherOrg',
          [id, elsewhere.username, orgs.target.username],
          [id, elsewhere.username],
        );
        error.setData({ jobId: id, username: elsewhere.username, orgId: elsewhere.orgId });
        throw error;
      }
    }
    return { jobId: id, client: orgs.target.client, ...(entry ? { entry } : {}) };
  }
  const entry = await JobIndex.find(id);
  if (!entry) {
    const error = messages.createError('error.JobNotIndexed', [id], [id]);
    error.setData({ jobId: id });
    throw error;
  }
  return { jobId: id, entry, client: await orgs.connect(entry.username) };
}

export function folderOf(entry: JobIndexEntry): RunFolder {
  return runFolder(dirname(entry.runDir), entry.runId);
}

export function runInfo(entry: JobIndexEntry, chunk?: ChunkState, jobId?: string, journalFound = true): JobRunInfo {
  const phase = !journalFound ? undefined : chunk && chunk.jobId === jobId ? chunk.phase : 'aborted';
  return {
    runId: entry.runId,
    runDir: entry.runDir,
    manifest: entry.manifest,
    username: entry.username,
    step: entry.step,
    chunk: entry.chunk,
    object: entry.object,
    operation: entry.operation,
    ...(phase ? { phase } : {}),
    ...(chunk ? { attempt: chunk.attempt } : {}),
  };
}

/** the job's place in its run, read without the lock (the journal may grow meanwhile: a snapshot) */
export async function readRunInfo(entry: JobIndexEntry, jobId: string): Promise<JobRunInfo> {
  const folder = folderOf(entry);
  if (!(await exists(folder.journalPath))) return runInfo(entry, undefined, jobId, false);
  const state = await replayJournal(folder.journalPath);
  return runInfo(entry, findChunk(state, { step: entry.step, chunk: entry.chunk }), jobId);
}

export async function infoOrNotFound(
  client: IngestJobClient,
  jobId: string,
  entry?: JobIndexEntry,
): Promise<IngestJobInfo> {
  try {
    return await client.info(jobId);
  } catch (error) {
    if (error instanceof BulkApiError && error.errorCode === 'NOT_FOUND') {
      const folder = entry ? folderOf(entry) : undefined;
      const created = messages.createError(
        'error.JobNotInOrg',
        [jobId],
        folder ? [folder.resultsDir(entry!.step)] : [process.cwd()],
        error,
      );
      created.setData({ jobId, ...(entry ? { runId: entry.runId } : {}) });
      throw created;
    }
    throw error;
  }
}
