/*
 * The whole validation of a manifest as one result, for `sf migrate validate` and for CI scripts
 * that read its --json output: offline always, against an org's describe and limits when given one.
 */
import { resolve } from 'node:path';
import { checkLookupsInOrg, type LookupCheck } from '../lookup/orgChecks.js';
import { scanManifest, type ScanOptions, type ScanResult } from '../scan/scanSources.js';
import type { ReportedStep } from './ciReport.js';
import { loadManifest } from './load.js';
import { preflight, type OrgCheck, type PreflightConnection } from './preflight.js';
import { errorsOf, sortProblems, warningsOf, type Problem } from './problems.js';

export type { LimitUse, OrgCheck } from './preflight.js';

export type ValidateResult = {
  /** absolute path of the manifest */
  manifest: string;
  valid: boolean;
  errors: Problem[];
  warnings: Problem[];
  /** number of steps; 0 when the manifest has errors */
  steps: number;
  /** the run order; empty when the manifest has errors */
  waves: string[][];
  /** with an org: what was checked against it */
  org?: OrgCheck;
  /** with --scan: what reading every record found, per step; absent when the manifest has errors */
  scan?: ScanResult;
  /** with an org and steps with lookups: each lookup checked against the org, with a sample of its keys */
  lookups?: LookupCheck[];
};

export type ValidateOptions = {
  /** the org to check the manifest against, after its offline checks pass */
  connection?: PreflightConnection;
  /** read every record of every source too (`--scan`); values are checked only with a connection */
  scan?: Omit<ScanOptions, 'describer'>;
};

export async function validateManifest(path: string, options: ValidateOptions = {}): Promise<ValidateResult> {
  return (await validateManifestReport(path, options)).result;
}

/** The result, and the steps the manifest lists (valid or not) for reports grouped by step. */
export async function validateManifestReport(
  path: string,
  options: ValidateOptions = {},
): Promise<{ result: ValidateResult; steps: ReportedStep[] }> {
  const { manifest, problems, steps } = await loadManifest(path);
  let org: OrgCheck | undefined;
  let lookups: LookupCheck[] | undefined;
  let all = problems;
  const connection = options.connection && options.scan ? describedOnce(options.connection) : options.connection;
  if (connection && manifest) {
    const checked = await preflight(manifest, connection);
    org = checked.org;
    all = sortProblems([...problems, ...checked.problems]);
    if (manifest.steps.some((step) => step.lookups?.length)) {
      const found = await checkLookupsInOrg(manifest, connection);
      lookups = found.checks;
      all = sortProblems([...all, ...found.problems]);
    }
  } else if (connection) {
    org = {
      username: connection.getUsername() ?? '',
      apiVersion: connection.getApiVersion(),
      checked: false,
      objects: [],
    };
  }
  let scan: ScanResult | undefined;
  if (options.scan && manifest) {
    const scanned = await scanManifest(manifest, { ...options.scan, ...(connection ? { describer: connection } : {}) });
    scan = scanned.scan;
    all = sortProblems([...all, ...scanned.problems]);
  }
  const errors = errorsOf(all);
  const result: ValidateResult = {
    manifest: resolve(path),
    valid: errors.length === 0,
    errors,
    warnings: warningsOf(all),
    steps: manifest?.steps.length ?? 0,
    waves: manifest?.waves ?? [],
    ...(org ? { org } : {}),
    ...(scan ? { scan } : {}),
    ...(lookups ? { lookups } : {}),
  };
  return { result, steps };
}

/** The preflight and the scan both read each object's describe: ask the org once. */
function describedOnce(connection: PreflightConnection): PreflightConnection {
  const describes = new Map<string, ReturnType<PreflightConnection['describe']>>();
  return {
    describe: (object: string): ReturnType<PreflightConnection['describe']> => {
      const key = object.toLowerCase();
      let found = describes.get(key);
      if (!found) {
        found = connection.describe(object);
        describes.set(key, found);
      }
      return found;
    },
    request: <T = unknown>(url: string): Promise<T> => connection.request<T>(url),
    getApiVersion: () => connection.getApiVersion(),
    getUsername: () => connection.getUsername(),
  };
}
