import { Messages } from '@salesforce/core';
import { SfCommand } from '@salesforce/sf-plugins-core';
import { requiredManifestFlag } from '../../flags.js';
import { loadManifestOrThrow } from '../../manifest/load.js';
import { buildPlan, type PlannedStep, type PlanResult } from '../../plan/plan.js';
import { exitCodesSection, plainExitCodes } from '../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'plan');

export type { PlanResult } from '../../plan/plan.js';

const numberFormat = new Intl.NumberFormat('en-US');

/** 1234567 → "1.2 MB": decimal units, as Salesforce states its upload limits (100 MB = 100,000,000 bytes). */
function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function tableRow(step: PlannedStep): Record<string, string> {
  return {
    step: step.id,
    object: step.object,
    operation: step.externalIdField ? `${step.operation} (${step.externalIdField})` : step.operation,
    files: step.files.map((file) => file.file).join('\n'),
    records: numberFormat.format(step.records),
    size: formatBytes(step.bytes),
    jobs: numberFormat.format(step.jobs),
    apiCalls: numberFormat.format(step.apiCalls),
    dependsOn: step.dependsOn.join(', '),
  };
}

export default class Plan extends SfCommand<PlanResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(plainExitCodes);

  public static override readonly flags = {
    manifest: requiredManifestFlag,
  };

  public async run(): Promise<PlanResult> {
    const { flags } = await this.parse(Plan);
    const manifest = await loadManifestOrThrow(flags.manifest);
    const plan = await buildPlan(manifest);

    this.log(messages.getMessage('heading', [plan.name, flags.manifest]));
    const columns = (
      ['step', 'object', 'operation', 'files', 'records', 'size', 'jobs', 'apiCalls', 'dependsOn'] as const
    ).map((key) => ({ key, name: messages.getMessage(`column.${key}`) }));
    for (const wave of plan.waves) {
      this.table({
        title: messages.getMessage('wave.title', [wave.wave]),
        data: wave.steps.map(tableRow),
        columns,
        overflow: 'wrap',
      });
    }
    if (plan.implied.length > 0) {
      this.log(messages.getMessage('implied.title'));
      for (const dependency of plan.implied) {
        this.log(
          `  ${messages.getMessage('implied.line', [dependency.step, dependency.dependsOn, dependency.column])}`,
        );
      }
      this.log();
    }
    const partitioned = plan.waves.flatMap((wave) => wave.steps).filter((step) => step.partitionBy);
    if (partitioned.length > 0) {
      this.log(messages.getMessage('partitioned.title'));
      for (const step of partitioned) {
        const key = step.partitionBy?.inferred ? 'partitioned.inferred' : 'partitioned.line';
        this.log(`  ${messages.getMessage(key, [step.id, step.partitionBy?.column ?? ''])}`);
      }
      this.log();
    }
    const selfReferences = manifest.steps.flatMap((step) => (step.selfReferenceOf ? [step] : []));
    if (selfReferences.length > 0) {
      this.log(messages.getMessage('selfReference.title'));
      for (const { id, selfReferenceOf: of } of selfReferences) {
        this.log(`  ${messages.getMessage('selfReference.line', [of!.step, of!.columns.join(', '), id, of!.key])}`);
      }
      this.log();
    }
    const deleting = plan.waves.flatMap((wave) => wave.steps).filter((step) => /^(hardD|d)elete$/.test(step.operation));
    if (deleting.length > 0) {
      // sf migrate rollback cannot bring deleted records back: say so before the run, not after
      this.warn(messages.getMessage('deletesNotUndone', [deleting.map((step) => step.id).join(', ')]));
    }
    const waiting = plan.waves.flatMap((wave) => wave.steps).filter((step) => step.waitsFor);
    if (waiting.length > 0) {
      this.log(messages.getMessage('sharedParents.title'));
      for (const step of waiting) {
        const { steps, objects } = step.waitsFor!;
        this.log(`  ${messages.getMessage('sharedParents.line', [step.id, steps.join(', '), objects.join(', ')])}`);
      }
      this.log();
    }
    const { totals, estimate } = plan;
    this.log(
      messages.getMessage('totals', [
        totals.steps,
        totals.waves,
        totals.files,
        numberFormat.format(totals.records),
        formatBytes(totals.bytes),
        numberFormat.format(totals.jobs),
        numberFormat.format(totals.apiCalls),
        numberFormat.format(totals.polls),
      ]),
    );
    this.log(messages.getMessage('assumption', [estimate.callsPerJobBesidesPolls, estimate.assumedRecordsPerSecond]));
    return plan;
  }
}
