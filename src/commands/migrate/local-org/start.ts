import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Messages } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import {
  faultSettingsProblems,
  modelSettingsProblems,
  registerLocalOrg,
  startLocalOrg,
  type FaultSettings,
  type ModelSettings,
} from '@sf-migrate/local-org';
import { exitCodesSection, plainExitCodes } from '../../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'local-org.start');

export type LocalOrgStartResult = {
  instanceUrl: string;
  username: string;
  alias: string;
  orgId: string;
  port: number;
};

export default class LocalOrgStart extends SfCommand<LocalOrgStartResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(plainExitCodes);

  public static override readonly flags = {
    port: Flags.integer({
      char: 'p',
      summary: messages.getMessage('flags.port.summary'),
      default: 0,
      min: 0,
      max: 65_535,
    }),
    alias: Flags.string({ char: 'a', summary: messages.getMessage('flags.alias.summary'), default: 'local' }),
    'set-default': Flags.boolean({ summary: messages.getMessage('flags.set-default.summary') }),
    schema: Flags.directory({ summary: messages.getMessage('flags.schema.summary'), exists: true }),
    'data-dir': Flags.directory({ summary: messages.getMessage('flags.data-dir.summary') }),
    faults: Flags.string({
      summary: messages.getMessage('flags.faults.summary'),
      description: messages.getMessage('flags.faults.description'),
    }),
    'records-per-second': Flags.integer({
      summary: messages.getMessage('flags.records-per-second.summary'),
      min: 0,
      default: 0,
    }),
    model: Flags.option({
      summary: messages.getMessage('flags.model.summary'),
      description: messages.getMessage('flags.model.description'),
      options: ['instant', 'realistic'] as const,
      default: 'instant',
    })(),
    'model-settings': Flags.string({
      summary: messages.getMessage('flags.model-settings.summary'),
      description: messages.getMessage('flags.model-settings.description'),
    }),
    'result-order': Flags.option({
      summary: messages.getMessage('flags.result-order.summary'),
      description: messages.getMessage('flags.result-order.description'),
      options: ['shuffled', 'upload'] as const,
      default: 'shuffled',
    })(),
    'result-seed': Flags.integer({ summary: messages.getMessage('flags.result-seed.summary'), default: 1 }),
    'disable-hard-delete': Flags.boolean({ summary: messages.getMessage('flags.disable-hard-delete.summary') }),
    username: Flags.string({ summary: messages.getMessage('flags.username.summary') }),
    seed: Flags.string({
      summary: messages.getMessage('flags.seed.summary'),
      description: messages.getMessage('flags.seed.description'),
    }),
  };

  private startPrinted = false;

  public async run(): Promise<LocalOrgStartResult> {
    const { flags } = await this.parse(LocalOrgStart);
    const faults = flags.faults ? await readFaults(flags.faults) : undefined;
    if (flags['model-settings'] && flags.model !== 'realistic')
      throw messages.createError('error.ModelSettingsWithoutModel');
    const modelSettings = flags['model-settings'] ? await readModelSettings(flags['model-settings']) : undefined;
    if (flags.seed && !existsSync(flags.seed)) throw messages.createError('error.SeedNotFound', [flags.seed]);
    const org = await startLocalOrg({
      port: flags.port,
      schemaDir: flags.schema,
      dataDir: flags['data-dir'],
      recordsPerSecond: flags['records-per-second'],
      model: flags.model,
      modelSettings,
      resultOrder: flags['result-order'],
      resultSeed: flags['result-seed'],
      hardDeleteEnabled: !flags['disable-hard-delete'],
      username: flags.username,
      faults,
      seed: flags.seed,
    }).catch((error: Error) => {
      if (error.name === 'LocalOrgSeedError') throw messages.createError('error.InvalidSeed', [error.message]);
      throw error;
    });
    let result: LocalOrgStartResult;
    try {
      const { username } = await registerLocalOrg(org, { alias: flags.alias, setDefault: flags['set-default'] });
      result = { instanceUrl: org.instanceUrl, username, alias: flags.alias, orgId: org.orgId, port: org.port };
    } catch (error) {
      await org.stop();
      throw error;
    }
    if (this.jsonEnabled()) {
      // Scripts read the result as soon as the org is up; the command itself runs until it is stopped.
      this.logJson(this.toSuccessJson(result));
      this.startPrinted = true;
    } else {
      this.log(messages.getMessage('info.started', [result.instanceUrl, result.username, result.alias]));
      this.log(messages.getMessage('info.stop'));
    }
    await new Promise<void>((resolve) => {
      // SfCommand's own signal handlers exit on the spot (code 130, thrown from the handler); a server
      // must first close its socket and flush its data dir, so the command owns these signals.
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.removeAllListeners(signal);
        process.once(signal, () => resolve());
      }
    });
    await org.stop();
    if (!this.jsonEnabled()) this.log(messages.getMessage('info.stopped'));
    return result;
  }

  public override logJson(json: unknown): void {
    if (this.startPrinted && (json as { status?: number }).status === 0) return;
    super.logJson(json);
  }
}

async function readFaults(text: string): Promise<FaultSettings> {
  return readSettings(text, 'Faults', faultSettingsProblems) as Promise<FaultSettings>;
}

async function readModelSettings(text: string): Promise<Partial<ModelSettings>> {
  return readSettings(text, 'ModelSettings', modelSettingsProblems) as Promise<Partial<ModelSettings>>;
}

/** Settings given inline as a JSON object or as the path of a JSON file, checked by `problemsOf`. */
async function readSettings(
  text: string,
  kind: 'Faults' | 'ModelSettings',
  problemsOf: (value: unknown) => string[],
): Promise<unknown> {
  let raw = text.trim();
  if (!raw.startsWith('{')) {
    if (!existsSync(raw)) throw messages.createError(`error.${kind}NotFound`, [raw]);
    raw = await readFile(raw, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw messages.createError(`error.Invalid${kind}`, [(error as Error).message]);
  }
  const problems = problemsOf(parsed);
  if (problems.length) throw messages.createError(`error.Invalid${kind}`, [problems.join('; ')]);
  return parsed;
}
