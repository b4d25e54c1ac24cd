import { Messages } from '@salesforce/core';
import { SfCommand } from '@salesforce/sf-plugins-core';
import { requiredManifestFlag } from '../../flags.js';
import type { Problem } from '../../manifest/problems.js';
import { validateManifest, type ValidateResult } from '../../manifest/validate.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'validate');

export type { ValidateResult } from '../../manifest/validate.js';

export default class Validate extends SfCommand<ValidateResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');

  public static override readonly flags = {
    manifest: requiredManifestFlag,
  };

  public async run(): Promise<ValidateResult> {
    const { flags } = await this.parse(Validate);
    const result = await validateManifest(flags.manifest);
    // The path as the user typed it, so editors and CI annotations can follow path:line:col.
    const shown = flags.manifest;
    const line = (p: Problem): string =>
      `${shown}:${p.line ?? 1}:${p.column ?? 1}  ${p.severity}  ${p.code}  ${p.message}${p.pointer ? ` (${p.pointer})` : ''}`;
    for (const problem of [...result.errors, ...result.warnings]) this.log(line(problem));
    if (result.valid) {
      this.logSuccess(
        messages.getMessage('summary.valid', [shown, result.steps, result.waves.length, result.warnings.length])
      );
    } else {
      this.log(messages.getMessage('summary.invalid', [shown, result.errors.length, result.warnings.length]));
      process.exitCode = 1;
    }
    return result;
  }
}
