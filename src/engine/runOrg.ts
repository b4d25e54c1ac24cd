/*
 * Which org `resume` and `retry` act on (issue 10.7): the run's own, as its journal's run.started
 * recorded it, found through the CLI's logins by its username, as the `job` commands find a job's
 * org through its index entry. Never the sf default org by accident: a --target-org that is not the
 * run's org is refused, since a run never changes org halfway and a retry loads where its run did.
 * A run whose journal never recorded its start (missing, empty, unreadable) names no org; only
 * then does --target-org, or else the sf default org, decide, and resume's own checks follow.
 */
import { Messages, Org } from '@salesforce/core';
import type { RunSummary } from '../journal/runFolder.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

/** opens an org of the CLI's logins; undefined asks for the sf default org (target-org) */
export type OrgOpener = (aliasOrUsername: string | undefined) => Promise<Org>;

const openCliOrg: OrgOpener = (aliasOrUsername) => Org.create(aliasOrUsername ? { aliasOrUsername } : {});

const fifteen = (id: string): string => id.slice(0, 15);

export type RunOrgRequest = {
  /** --target-org, when given */
  targetOrg?: string;
  /** the command to run instead, for the refusals' actions: with `targetOrg` when one must be named */
  command: (targetOrg?: string) => string;
  open?: OrgOpener;
};

/**
 * The org to resume or retry `run` in.
 *
 * @throws SfError `TargetOrgNotRunOrgError` when --target-org names another org than the run's,
 * `RunOrgNotAvailableError` when the run's org is not among the CLI's logins, and
 * `RunOrgUnknownError` when the run names no org and neither --target-org nor a default org is set.
 */
export async function orgOfRun(run: RunSummary, request: RunOrgRequest): Promise<Org> {
  const open = request.open ?? openCliOrg;
  const recorded = run.username !== undefined && run.orgId !== undefined ? run : undefined;
  if (request.targetOrg !== undefined) {
    const org = await open(request.targetOrg);
    if (recorded && fifteen(org.getOrgId()) !== fifteen(recorded.orgId!)) {
      const error = messages.createError(
        'error.TargetOrgNotRunOrg',
        [run.runId, recorded.username!, org.getUsername() ?? request.targetOrg],
        [request.command()],
      );
      error.setData({ runId: run.runId, username: recorded.username, orgId: recorded.orgId });
      throw error;
    }
    return org;
  }
  if (recorded) {
    try {
      return await open(recorded.username);
    } catch (cause) {
      const error = messages.createError(
        'error.RunOrgNotAvailable',
        [run.runId, recorded.username!, (cause as Error).message],
        [request.command('<alias of that org>')],
        cause as Error,
      );
      error.setData({ runId: run.runId, username: recorded.username, orgId: recorded.orgId });
      throw error;
    }
  }
  try {
    return await open(undefined);
  } catch (cause) {
    throw messages.createError('error.RunOrgUnknown', [run.runId], [request.command('<org>')], cause as Error);
  }
}
