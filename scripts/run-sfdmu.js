#!/usr/bin/env node
/*
 * Runs SFDMU (`sfdmu`, a devDependency) against an org of the sf CLI's state folder, the local org
 * included, without the legacy `sfdx` executable installed:
 *
 *   node scripts/run-sfdmu.js --sourceusername csvfile --targetusername <alias> --path <package dir> --noprompt
 *
 * Every argument goes to `sfdx sfdmu:run` unchanged. SFDMU 3.x is an oclif v1 plugin of the legacy sfdx
 * CLI; the current `sf` CLI (oclif v4) cannot load it, so its command is run here through its own oclif
 * v1 runtime. It learns the org's instance URL and access token by running
 * `sfdx force:org:display --targetusername <alias>` and reading the text it prints; this script puts a
 * stand-in `sfdx` first on the PATH of that run, which answers from the same state folder (HOME) through
 * @salesforce/core, refreshing the token as the sf CLI would. Orgs given in export.json's `orgs` section
 * (instanceUrl + accessToken) do not need it.
 *
 * test/nuts/sfdmu.nut.ts runs it against the local org; the local org's README says which SFDMU
 * features it serves (Bulk API 1.0 is out of scope).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

/** The stand-in for `sfdx force:org:display`: the lines SFDMU reads, in the legacy CLI's layout. */
async function orgDisplay() {
  const at = args.indexOf('--targetusername');
  const aliasOrUsername = at >= 0 ? args[at + 1] : undefined;
  const { Org } = await import('@salesforce/core');
  const org = await Org.create({ aliasOrUsername });
  await org.refreshAuth();
  const connection = org.getConnection();
  const lines = [
    ['Access Token', connection.accessToken],
    ['Client Id', connection.getAuthInfoFields().clientId ?? ''],
    ['Connected Status', 'Connected'],
    ['Id', org.getOrgId()],
    ['Instance Url', connection.instanceUrl.replace(/\/+$/, '')],
    ['Username', org.getUsername()],
  ];
  process.stdout.write(lines.map(([key, value]) => `${key.padEnd(17)}${value}`).join('\n') + '\n');
}

async function runSfdmu() {
  const bin = mkdtempSync(join(tmpdir(), 'sfdmu-bin-'));
  const shim = join(bin, 'sfdx');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${self}" "$@"\n`);
  chmodSync(shim, 0o755);
  // SFDMU ends the process itself with its exit code: clean up on the way out.
  process.on('exit', () => rmSync(bin, { recursive: true, force: true }));
  process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
  const { run } = require('@oclif/command');
  try {
    await run(['sfdmu:run', ...args], require.resolve('sfdmu/package.json'));
    await require('@oclif/command/flush')();
  } catch (error) {
    require('@oclif/errors/handle')(error);
  }
}

if (args[0] === 'force:org:display') {
  await orgDisplay();
} else {
  await runSfdmu();
}
