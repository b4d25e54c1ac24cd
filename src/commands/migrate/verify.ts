import { resolve } from 'node:path';
import { Messages, Org } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { manifestFlag, runOrgFlag } from '../../flags.js';
import { runRootOf } from '../../engine/runRoot.js';
import { exitCodesSection } from '../../exitCodes.js';
import { DEFAULT_SAMPLE_SIZE, DEFAULT_SEED, RunVerification, type VerifyResult } from '../../verify/verifyRun.js';
import { writeReport } from '../../verify/htmlReport.js';
import { printableDeep } from '../../ux/printable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'verify');

export type { VerifyResult };

export default class Verify extends SfCommand<VerifyResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection({
    0: 'verify.verified',
    1: 'verify.discrepancies',
    2: 'usage',
  });

  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    manifest: manifestFlag,
    'run-id': Flags.string({ char: 'r', summary: messages.getMessage('flags.run-id.summary') }),
    report: Flags.file({ summary: messages.getMessage('flags.report.summary') }),
    'sample-size': Flags.integer({
      summary: messages.getMessage('flags.sample-size.summary'),
      min: 0,
      max: 100_000,
      default: DEFAULT_SAMPLE_SIZE,
    }),
    seed: Flags.integer({ summary: messages.getMessage('flags.seed.summary'), min: 0, default: DEFAULT_SEED }),
  };

  public async run(): Promise<VerifyResult> {
    const { flags } = await this.parse(Verify);
    const verification = new RunVerification();
    verification.on('step.started', ({ step, object }) => this.log(messages.getMessage('line.step', [step, object])));
    let orgName = '';
    const result = await verification.verify({
      root: await runRootOf(flags.manifest ? resolve(flags.manifest) : undefined),
      ...(flags['run-id'] ? { runId: flags['run-id'] } : {}),
      sampleSize: flags['sample-size'],
      seed: flags.seed,
      org: async (run) => {
        const org = await Org.create({ aliasOrUsername: flags['target-org'] ?? run.username });
        orgName = org.getUsername() ?? run.username;
        return { connection: org.getConnection(flags['api-version']), orgId: org.getOrgId() };
      },
    });
    const total = result.discrepancies.length + result.discrepanciesOmitted;
    this.log(
      result.verified
        ? messages.getMessage('line.verified', [result.runId, result.manifest, result.runStatus, orgName])
        : messages.getMessage('line.discrepancies', [result.runId, result.manifest, result.runStatus, orgName, total]),
    );
    this.table({ data: stepRows(result), title: messages.getMessage('steps.title') });
    if (result.discrepancies.length > 0) {
      // record values are customer data: no control character reaches the terminal
      this.table({ data: printableDeep(discrepancyRows(result)), title: messages.getMessage('discrepancies.title') });
    }
    if (result.discrepanciesOmitted > 0) this.log(messages.getMessage('line.omitted', [result.discrepanciesOmitted]));
    if (flags.report) {
      const file = resolve(flags.report);
      await writeReport(file, result);
      result.report = file;
      this.log(messages.getMessage('line.report', [file]));
    }
    if (!result.verified) process.exitCode = 1;
    return result;
  }
}

const count = (value: number): string => value.toLocaleString('en-US');

function stepRows(result: VerifyResult): Array<Record<string, string | number>> {
  return result.steps.map((step) => {
    const problems = Object.values(step.discrepancies).reduce((sum, n) => sum + (n ?? 0), 0);
    return {
      wave: step.wave + 1,
      step: step.step,
      object: step.object,
      'source records': count(step.sourceRecords),
      succeeded: count(step.succeeded),
      'dead letters': count(step.deadLetters),
      'held back': count(step.heldBack),
      'retry rounds': step.retryRounds,
      'in org': count(step.checkedInOrg),
      sampled: step.sampled,
      discrepancies: count(problems),
    };
  });
}

function discrepancyRows(result: VerifyResult): Array<Record<string, string>> {
  return result.discrepancies.map((d) => ({
    step: d.step,
    what: messages.getMessage(`kind.${d.kind}`),
    record: d.key ?? '',
    field: d.field ?? '',
    expected: d.expected ?? '',
    actual: d.actual ?? '',
  }));
}
