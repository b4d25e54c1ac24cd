import { Messages } from '@salesforce/core';
import { Flags } from '@salesforce/sf-plugins-core';
import { concurrencyFlag, keepJobsFlag, requiredManifestFlag, waitFlag } from '../../flags.js';
import { loadManifestOrThrow } from '../../manifest/load.js';
import { findRun } from '../../journal/runFolder.js';
import { MigrationRun } from '../../engine/migrationRun.js';
import { resumeRun } from '../../engine/resumeRun.js';
import { unfinishedRunError } from '../../engine/runRoot.js';
import { RunSessionCommand, runOptionsOf, type RunResult } from '../../ux/runSession.js';
import { exitCodesSection, runExitCodes } from '../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'run');

export type { RunResult };

// eslint-disable-next-line sf-plugin/only-extend-SfCommand -- adds no flags: signals and error reports
export default class Run extends RunSessionCommand {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(runExitCodes);

  // eslint-disable-next-line sf-plugin/spread-base-flags -- RunSessionCommand declares no flags
  public static override readonly flags = {
    'target-org': Flags.requiredOrg(),
    'api-version': Flags.orgApiVersion(),
    manifest: requiredManifestFlag,
    wait: waitFlag,
    'keep-jobs': keepJobsFlag,
    concurrency: concurrencyFlag,
    new: Flags.boolean({ summary: messages.getMessage('flags.new.summary') }),
  };

  public async run(): Promise<RunResult> {
    const { flags } = await this.parse(Run);
    const manifest = await loadManifestOrThrow(flags.manifest);
    this.errorContext.manifest = manifest;
    const org = flags['target-org'];
    const options = runOptionsOf(flags);
    const unfinished = flags.new
      ? undefined
      : await findRun(manifest.runFolder, undefined, { manifest: manifest.path });
    let run: MigrationRun;
    if (unfinished) {
      const resume =
        !this.jsonEnabled() &&
        Boolean(process.stdin.isTTY) &&
        (await this.confirm({ message: messages.getMessage('prompt.resume', [unfinished.runId]) }));
      if (!resume) throw unfinishedRunError(unfinished.runId, manifest.path, org.getUsername() ?? '<org>');
      run = await resumeRun({
        ...options,
        root: manifest.runFolder,
        runId: unfinished.runId,
        manifest: manifest.path,
        onWarning: (message) => this.warn(message),
      });
    } else {
      // checked again, atomically, under the manifest's lock: a run started meanwhile is refused
      run = await MigrationRun.start(manifest, options, { beside: flags.new });
    }
    return this.drive(run, flags.wait);
  }
}
