import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthInfo } from '@salesforce/core';
import { Faults, type FaultSettings } from './faults.js';
import type { Identity } from './http/oauth.js';
import { LocalOrgServer } from './http/router.js';
import { makeId, serialOf } from './ids.js';
import { IngestJobs } from './ingest.js';
import { DEFAULT_RESULT_ORDER, type ResultOrder } from './processing/result-order.js';
import { systemClock } from './processing/clock.js';
import { modelSettings, type ModelSettings } from './processing/model-settings.js';
import type { ModelReportJson } from './processing/model-report.js';
import { QueryJobs } from './query-jobs.js';
import { formatDateTime } from './rows.js';
import { loadObjects } from './schema.js';
import { Collections } from './collections.js';
import { applySeed, readSeed, type SeedData } from './seed.js';
import { RecordStore } from './store.js';

// The start-up API: all a host (the `sf migrate local-org start` command, tests, the demo, benchmarks) needs.
// faultSettingsProblems checks a FaultSettings read from a user before it reaches startLocalOrg;
// builtInObjects is the describe the org serves when no schema folder is given.
export { faultSettingsProblems, type FaultSettings } from './faults.js';
export { builtInObjects } from './built-in-objects.js';
export type { ResultOrder } from './processing/result-order.js';
export { modelSettingsProblems, type ModelSettings } from './processing/model-settings.js';
export type { ModelReportJson, JobTimeline, PoolTotals, PoolSegment } from './processing/model-report.js';

export type ProcessingModel = 'instant' | 'realistic';
export type { SeedData } from './seed.js';
export type { ObjectDescribe, FieldDescribe } from './describe.js';

export type LocalOrgOptions = {
  /** 0 = a free port (default 0) */
  port?: number;
  /** folder of describe JSON (custom objects/fields), merged over the built-in objects */
  schemaDir?: string;
  /** persistence: records and jobs survive a restart */
  dataDir?: string;
  /** processing rate; undefined/0 = as fast as possible */
  recordsPerSecond?: number;
  /**
   * the order of result rows: 'shuffled' (default; within each internal batch of 10,000, as a real org
   * guarantees no order) or 'upload'
   */
  resultOrder?: ResultOrder;
  /** the seed of the shuffled result order (default 1) */
  resultSeed?: number;
  /**
   * how ingest jobs are processed: 'instant' (default) applies rows at CPU speed, one job's rows after
   * another; 'realistic' models a real org's batch workers, time per record, locks, time-outs and daily
   * allocations (README, "The realistic model")
   */
  model?: ProcessingModel;
  /** the realistic model's figures, over their defaults (DEFAULT_MODEL_SETTINGS) */
  modelSettings?: Partial<ModelSettings>;
  /** default true */
  hardDeleteEnabled?: boolean;
  /** default admin@<org>.local-org.sf-migrate, unique per org so several local orgs can be registered at once */
  username?: string;
  faults?: FaultSettings;
  /** the largest upload accepted (default 100 MB, the Bulk API 2.0 raw limit) */
  maxUploadBytes?: number;
  /** DailyApiRequests Max (default 100,000); requests beyond it get 403 REQUEST_LIMIT_EXCEEDED */
  dailyApiRequests?: number;
  /**
   * records inserted at start-up, before the org answers (users, queues, record types, ...): the data, or
   * the path of a JSON file or of a folder of JSON files (README, "Seeding"). With a dataDir, only on the
   * first start with that folder.
   */
  seed?: string | SeedData;
};

export type LocalOrg = {
  /** http://127.0.0.1:PORT */
  instanceUrl: string;
  accessToken: string;
  refreshToken: string;
  clientId: string;
  orgId: string;
  userId: string;
  username: string;
  port: number;
  faults: { set(f: FaultSettings): void; clear(): void; current(): FaultSettings };
  store: { records(object: string): Array<Record<string, unknown>>; count(object: string): number };
  /**
   * An access token of another active user of the org (by Username), as a JWT bearer login of that user
   * gets one: requests made with it write as that user (CreatedById, LastModifiedById), e.g. "someone
   * else changed the record after the run". Throws for an unknown or inactive user.
   */
  sessionFor(username: string): string;
  /**
   * API calls seen, keyed like "PUT jobs/ingest/:id/batches" ("dropped upload": the dropUploadRate fault cut one;
   * "aborted upload": the client closed one mid-body); internalErrors: requests the org failed on itself.
   */
  stats(): { requests: number; byRoute: Record<string, number>; internalErrors: number };
  /**
   * What the realistic model did so far, in modelled time (README, "The model's report"): each job's
   * timeline and the batch pool's worker-time. Undefined in the instant model. With a dataDir, stop() also
   * writes it to model-report.json there.
   */
  modelReport(): ModelReportJson | undefined;
  stop(): Promise<void>;
};

const POD = 'Lo0';
const DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024;

/** The org's identity; `fresh`: made now, not read from an earlier start with the same data dir. */
async function loadIdentity(
  dataDir: string | undefined,
  username: string | undefined,
): Promise<{ identity: Identity; fresh: boolean }> {
  const file = dataDir ? join(dataDir, 'org.json') : undefined;
  if (file) {
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as Identity;
      return { identity: { ...saved, username: username ?? saved.username }, fresh: false };
    } catch {
      // first start with this data dir
    }
  }
  const serial = randomBytes(4).readUInt32BE() % 1_000_000_000;
  const orgId = makeId('00D', POD, serial);
  const identity: Identity = {
    orgId,
    userId: makeId('005', POD, 1),
    username: username ?? `admin@${orgId.slice(9, 15).toLowerCase()}.local-org.sf-migrate`,
    clientId: 'PlatformCLI',
    refreshToken: `5Aep861${randomBytes(48).toString('base64url').slice(0, 80)}`,
  };
  if (file) {
    await mkdir(dataDir!, { recursive: true });
    await writeFile(file, JSON.stringify(identity), { mode: 0o600 });
  }
  return { identity, fresh: true };
}

/** Starts the local org: an HTTP server on 127.0.0.1 speaking the Salesforce REST and Bulk API 2.0 wire protocol. */
export async function startLocalOrg(options: LocalOrgOptions = {}): Promise<LocalOrg> {
  // read before anything starts, so a bad seed fails the start cleanly
  const seeds = options.seed === undefined ? [] : await readSeed(options.seed);
  const { identity, fresh } = await loadIdentity(options.dataDir, options.username);
  const store = new RecordStore(await loadObjects(options.schemaDir), POD);
  const workDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'local-org-')));
  if (options.dataDir) await store.persistTo(join(options.dataDir, 'records'));

  const now = formatDateTime(new Date());
  const system = {
    IsDeleted: false,
    CreatedDate: now,
    CreatedById: identity.userId,
    LastModifiedDate: now,
    LastModifiedById: identity.userId,
    SystemModstamp: now,
  };
  store.object('User')!.put({
    ...system,
    Id: identity.userId,
    Username: identity.username,
    FirstName: 'Local',
    LastName: 'Admin',
    Name: 'Local Admin',
    Email: identity.username,
    Alias: 'ladmin',
    IsActive: true,
    TimeZoneSidKey: 'GMT',
  });
  store.object('Organization')!.put({
    ...system,
    Id: identity.orgId,
    Name: 'Local Org',
    InstanceName: 'LOCAL',
    IsSandbox: false,
    TrialExpirationDate: null,
    NamespacePrefix: null,
    OrganizationType: 'Developer Edition',
  });

  if (fresh) {
    try {
      applySeed(store, new Collections(store, identity.userId), seeds);
    } catch (error) {
      await store.close();
      if (!options.dataDir) await rm(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  const faults = new Faults(options.faults);
  const model = options.model === 'realistic' ? modelSettings(options.modelSettings) : undefined;
  const realistic = model ? { settings: model, clock: systemClock(model.timeScale) } : undefined;
  let jobSerial = 0;
  const newJobId = (): string => makeId('750', POD, ++jobSerial);
  // eslint-disable-next-line prefer-const
  let server: LocalOrgServer;
  const jobsDir = join(workDir, 'jobs');
  await mkdir(jobsDir, { recursive: true });
  const ingest = new IngestJobs({
    store,
    faults,
    userId: identity.userId,
    dir: jobsDir,
    persistent: Boolean(options.dataDir),
    recordsPerSecond: options.recordsPerSecond,
    resultOrder: {
      order: options.resultOrder ?? DEFAULT_RESULT_ORDER.order,
      seed: options.resultSeed ?? DEFAULT_RESULT_ORDER.seed,
    },
    realistic,
    hardDeleteEnabled: options.hardDeleteEnabled ?? true,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD,
    newJobId,
    onBatch: () => server.countBatch(),
  });
  const queryJobs = new QueryJobs({
    store,
    userId: identity.userId,
    dir: join(workDir, 'query-jobs'),
    newJobId,
    onJob: () => server.countQueryJob(),
  });
  server = new LocalOrgServer({
    store,
    faults,
    identity,
    ingest,
    queryJobs,
    dailyApiRequests: options.dailyApiRequests ?? 100_000,
    requestLatency: realistic
      ? (): Promise<void> => realistic.clock.sleep(realistic.settings.requestLatencyMs)
      : undefined,
  });
  await ingest.restore();
  for (const id of ingest.jobs.keys()) jobSerial = Math.max(jobSerial, serialOf(id));
  await server.listen(options.port ?? 0);

  let stopped = false;
  return {
    instanceUrl: server.instanceUrl,
    accessToken: server.accessToken,
    refreshToken: identity.refreshToken,
    clientId: identity.clientId,
    orgId: identity.orgId,
    userId: identity.userId,
    username: identity.username,
    port: Number(new URL(server.instanceUrl).port),
    faults: { set: (f) => faults.set(f), clear: () => faults.clear(), current: () => faults.current() },
    store: {
      records: (object) => [...(store.object(object)?.records.values() ?? [])].map((r) => ({ ...r })),
      count: (object) => store.object(object)?.records.size ?? 0,
    },
    sessionFor: (username: string): string => {
      const token = server.sessionFor(username);
      if (!token) throw new Error(`local org: no active user ${username}`);
      return token;
    },
    stats: () => ({
      requests: server.stats.requests,
      byRoute: { ...server.stats.byRoute },
      internalErrors: server.stats.internalErrors,
    }),
    modelReport: () => ingest.report?.toJSON(),
    stop: async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await server.close();
      await ingest.stop();
      // a report that cannot be written (a full disk) must not keep the store from closing
      if (options.dataDir && ingest.report)
        await writeFile(join(options.dataDir, 'model-report.json'), JSON.stringify(ingest.report.toJSON())).catch(
          (error: unknown) => process.emitWarning(`model-report.json not written: ${(error as Error).message}`),
        );
      await queryJobs.settle();
      await store.close();
      if (!options.dataDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers the org in the sf state folder (os.homedir()/.sf) under an alias, with its refresh token, so
 * the Connection of `@salesforce/core` refreshes an expired session by itself. Goes through the real refresh-token
 * grant of the org, as `sf org login` flows do.
 */
export async function registerLocalOrg(
  org: LocalOrg,
  options: { alias: string; setDefault?: boolean },
): Promise<{ username: string }> {
  const authInfo = await AuthInfo.create({
    oauth2Options: { loginUrl: org.instanceUrl, clientId: org.clientId, refreshToken: org.refreshToken },
  });
  await authInfo.save();
  await authInfo.handleAliasAndDefaultSettings({
    alias: options.alias,
    setDefault: options.setDefault ?? false,
    setDefaultDevHub: false,
  });
  return { username: authInfo.getUsername() ?? org.username };
}
