import { registerLocalOrg, startLocalOrg, type LocalOrg, type LocalOrgOptions } from '../../src/local-org/index.js';

/**
 * Starts a local org in this process and registers it under an alias (default 'local') in the sf state
 * folder of the current HOME. Create the testkit TestSession first: it points HOME at a temp dir, so the
 * registration stays inside the session. `execCmd('... --target-org local')` then reaches this org.
 * Stop it with `await org.stop()` in an after() hook.
 *
 * The org answers from THIS process: run commands against it with `await execCmd(cmd, { async: true })`.
 * A synchronous execCmd blocks this process's event loop, so the org cannot answer and the command hangs.
 */
export async function startTestOrg(options: LocalOrgOptions & { alias?: string } = {}): Promise<LocalOrg> {
  const { alias = 'local', ...orgOptions } = options;
  const org = await startLocalOrg(orgOptions);
  try {
    await registerLocalOrg(org, { alias });
  } catch (error) {
    await org.stop();
    throw error;
  }
  return org;
}
