/*
 * The whole offline validation of a manifest as one result, for `sf migrate validate` and for CI
 * scripts that read its --json output.
 */
import { resolve } from 'node:path';
import { loadManifest } from './load.js';
import { errorsOf, warningsOf, type Problem } from './problems.js';

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
};

export async function validateManifest(path: string): Promise<ValidateResult> {
  const { manifest, problems } = await loadManifest(path);
  const errors = errorsOf(problems);
  return {
    manifest: resolve(path),
    valid: errors.length === 0,
    errors,
    warnings: warningsOf(problems),
    steps: manifest?.steps.length ?? 0,
    waves: manifest?.waves ?? [],
  };
}
