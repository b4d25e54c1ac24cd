import { relative, sep } from 'node:path';
import { Messages, Org } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { preflightOrgFlag, requiredManifestFlag } from '../../flags.js';
import { connectionPreflight } from '../../manifest/preflight.js';
import { githubAnnotations, junitReport, located } from '../../manifest/ciReport.js';
import { validateManifestReport, type ValidateResult } from '../../manifest/validate.js';
import { exitCodesSection } from '../../exitCodes.js';
import { lookupCheckLines } from '../../lookup/orgChecks.js';
import { DEFAULT_MEMORY_BUDGET_MB, scanSummaryLines } from '../../scan/scanSources.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'validate');

export type { ValidateResult } from '../../manifest/validate.js';

export default class Validate extends SfCommand<ValidateResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection({
    0: 'validate.valid',
    1: 'validate.invalid',
    2: 'usage',
  });

  public static override readonly flags = {
    manifest: requiredManifestFlag,
    'target-org': preflightOrgFlag,
    'api-version': Flags.orgApiVersion(),
    format: Flags.option({
      summary: messages.getMessage('flags.format.summary'),
      description: messages.getMessage('flags.format.description'),
      options: ['human', 'github', 'junit'] as const,
      default: 'human',
    })(),
    scan: Flags.boolean({
      summary: messages.getMessage('flags.scan.summary'),
      description: messages.getMessage('flags.scan.description'),
      default: false,
    }),
    'scan-memory': Flags.integer({
      summary: messages.getMessage('flags.scan-memory.summary'),
      description: messages.getMessage('flags.scan-memory.description'),
      min: 1,
      // the key store addresses its bytes with 32-bit offsets
      max: 4096,
      default: DEFAULT_MEMORY_BUDGET_MB,
    }),
  };

  // eslint-disable-next-line no-underscore-dangle -- oclif's entry point, where SfCommand adds its signal listeners
  public override async _run<R>(): Promise<R> {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
    const before = new Map(signals.map((name) => [name, new Set(process.listeners(name))]));
    // eslint-disable-next-line no-underscore-dangle -- see above
    const running = super._run<R>();
    // SfCommand._run adds, before its first await, signal listeners that throw an ExitError (a stack
    // trace, exit 1). validate only reads: a signal ends it as signals do, and a scan that spilled
    // to disk removes its temporary files first (src/scan/duplicateKeys.ts).
    for (const name of signals) {
      for (const listener of process.listeners(name)) {
        if (!before.get(name)?.has(listener)) process.removeListener(name, listener);
      }
    }
    return running;
  }

  public async run(): Promise<ValidateResult> {
    const { flags } = await this.parse(Validate);
    const org = flags['target-org'] ? await Org.create({ aliasOrUsername: flags['target-org'] }) : undefined;
    const { result, steps } = await validateManifestReport(flags.manifest, {
      ...(org
        ? {
            connection: connectionPreflight(org.getConnection(flags['api-version'])),
          }
        : {}),
      ...(flags.scan ? { scan: { memoryBudgetMb: flags['scan-memory'] } } : {}),
    });
    if (!result.valid) process.exitCode = 1;
    // The path as the user typed it, so editors and CI annotations can follow path:line:col.
    const shown = flags.manifest;
    if (flags.format === 'junit') {
      this.log(junitReport(result, shown, steps));
      return result;
    }
    if (flags.format === 'github') {
      // GitHub resolves an annotation's file against the workspace, the usual working directory.
      const inWorkspace = relative(process.cwd(), result.manifest);
      const file = inWorkspace.startsWith('..') ? result.manifest : inWorkspace.split(sep).join('/');
      for (const annotation of githubAnnotations(result, file)) this.log(annotation);
    } else {
      for (const problem of [...result.errors, ...result.warnings]) this.log(located(shown, problem));
    }
    if (result.scan) for (const line of scanSummaryLines(result.scan)) this.log(line);
    for (const line of lookupCheckLines(result.lookups)) this.log(line);
    if (result.org && !result.org.checked) this.log(messages.getMessage('org.skipped', [result.org.username]));
    else if (result.org)
      this.log(
        messages.getMessage('org.checked', [result.org.username, result.org.objects.length, result.org.apiVersion]),
      );
    if (result.valid) {
      this.logSuccess(
        messages.getMessage('summary.valid', [shown, result.steps, result.waves.length, result.warnings.length]),
      );
    } else {
      this.log(messages.getMessage('summary.invalid', [shown, result.errors.length, result.warnings.length]));
    }
    return result;
  }
}
