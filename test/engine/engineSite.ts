/*
 * The engine driven in this process against a local org in this process: a scaffold (manifest
 * fixture, temp HOME for the job index, local org) plus the RunOptions the engine takes, so tests
 * start, resume and finish real runs without spawning the CLI.
 */
import type { LocalOrg } from '@sf-migrate/local-org';
import type { RunOptions } from '../../src/engine/migrationRun.js';
import { IngestJobClient } from '../../src/bulk/ingestJobClient.js';
import { connectionTo, createScaffold, type Scaffold } from './runScaffold.js';

export { connectionTo } from './runScaffold.js';

export type EngineSite = Scaffold & { options: RunOptions };

export async function createEngineSite(): Promise<EngineSite> {
  const scaffold = await createScaffold();
  const connection = await connectionTo(scaffold.org);
  return {
    ...scaffold,
    options: {
      connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
      client: new IngestJobClient(connection, { retry: { attempts: 2 } }),
    },
  };
}

/** how many records of `object` the org holds with each value of `field` */
export function countsBy(org: LocalOrg, object: string, field: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of org.store.records(object)) {
    const key = String(record[field]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
