import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Org, type Connection } from '@salesforce/core';
import { registerLocalOrg, startLocalOrg, type LocalOrg, type LocalOrgOptions } from '../src/index.js';

export type ConnectedOrg = {
  org: LocalOrg;
  conn: Connection;
  /** raw HTTP against the org with the connection's current token: bytes exactly as served */
  raw(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
};

/**
 * A local org registered in a throw-away HOME, and a @salesforce/core Connection to it (the same kind of
 * Connection `--target-org` gives a command, with the org's refresh token, so session refresh is real).
 */
export async function connectedOrg(options: LocalOrgOptions = {}): Promise<ConnectedOrg> {
  const previousHome = process.env.HOME;
  const home = await mkdtemp(join(tmpdir(), 'local-org-home-'));
  process.env.HOME = home;
  const org = await startLocalOrg(options);
  await registerLocalOrg(org, { alias: 'local' });
  const conn = (await Org.create({ aliasOrUsername: 'local' })).getConnection();
  return {
    org,
    conn,
    raw: (method, path, body, headers = {}): Promise<Response> =>
      fetch(`${org.instanceUrl}${path}`, {
        method,
        body,
        headers: { Authorization: `Bearer ${conn.accessToken ?? ''}`, ...headers },
      }),
    close: async (): Promise<void> => {
      await org.stop();
      process.env.HOME = previousHome;
      await rm(home, { recursive: true, force: true });
    },
  };
}
