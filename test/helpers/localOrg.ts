import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestSession } from '@salesforce/cli-plugins-testkit';
import { registerLocalOrg, startLocalOrg, type LocalOrg, type LocalOrgOptions } from '@sf-migrate/local-org';

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

export type NutOrg = {
  readonly session: TestSession;
  readonly org: LocalOrg;
  /** a fresh folder inside the session for the current test */
  readonly dir: string;
};

/**
 * The mocha hooks every NUT against a local org repeats: a TestSession (HOME in a temp dir), a
 * local org registered as `alias`, and a fresh folder per test named `<prefix>-<n>`. Call it at
 * the top of a describe block; read the fields inside tests and hooks.
 */
export function useNutOrg(prefix: string, options: LocalOrgOptions & { alias?: string } = {}): NutOrg {
  let session: TestSession | undefined;
  let org: LocalOrg | undefined;
  let dir = '';
  let counter = 0;
  before(async () => {
    session = await TestSession.create({ devhubAuthStrategy: 'NONE' });
    org = await startTestOrg(options);
  });
  after(async () => {
    await org?.stop();
    await session?.clean();
  });
  beforeEach(() => {
    dir = join(session!.dir, `${prefix}-${++counter}`);
    mkdirSync(dir, { recursive: true });
  });
  return {
    get session(): TestSession {
      return session!;
    },
    get org(): LocalOrg {
      return org!;
    },
    get dir(): string {
      return dir;
    },
  };
}
