/*
 * The README's demo: generates the example migration's data (≥ 100,000 records, once), starts the
 * bundled local org, registers it as an sf org in a private state folder, runs the real
 * `sf migrate run` against it, and shows with the real `sf data query` that the records arrived.
 *
 *   npm run demo            (the default sizes)
 *   npm run demo -- --accounts 2000 --contacts 4000 --opportunities 4000
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '20000' },
    contacts: { type: 'string', default: '50000' },
    opportunities: { type: 'string', default: '40000' },
    keep: { type: 'boolean', default: false },
  },
});

const generated = join(root, 'examples', 'legacy-crm', 'generated');
const manifest = join(generated, 'migration.json');

function step(title: string): void {
  process.stdout.write(`\n=== ${title}\n`);
}

/** never synchronously: the local org answers from this very process */
function sf(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), ...args], { stdio: 'inherit', env });
    child.on('close', (code) => done(code ?? 1));
  });
}

step('Generating the example data');
spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    join(root, 'scripts', 'generate-example-data.ts'),
    '--out',
    generated,
    '--accounts',
    values.accounts,
    '--contacts',
    values.contacts,
    '--opportunities',
    values.opportunities,
  ],
  { stdio: 'inherit', cwd: root },
);
if (!existsSync(manifest)) throw new Error(`the generator did not write ${manifest}`);

// a private sf state folder: the demo never touches the user's own org list
const home = mkdtempSync(join(tmpdir(), 'sf-migrate-demo-'));
process.env.HOME = home;
process.env.USERPROFILE = home;
const env = {
  ...process.env,
  HOME: home,
  USERPROFILE: home,
  SF_DISABLE_TELEMETRY: 'true',
  SF_AUTOUPDATE_DISABLE: 'true',
};

const { startLocalOrg, registerLocalOrg } = await import('@sf-migrate/local-org');
const schemaDir = join(root, 'examples', 'legacy-crm', 'schema');
const org = await startLocalOrg({ ...(existsSync(schemaDir) ? { schemaDir } : {}) });
let code = 1;
try {
  await registerLocalOrg(org, { alias: 'demo' });
  step(`Local org up at ${org.instanceUrl} as ${org.username} (alias "demo")`);

  step('sf migrate validate');
  await sf(['migrate', 'validate', '--manifest', manifest], env);
  step('sf migrate plan');
  await sf(['migrate', 'plan', '--manifest', manifest], env);

  step('sf migrate run');
  code = await sf(['migrate', 'run', '--manifest', manifest, '--target-org', 'demo', '--new'], env);

  step('sf data query: what arrived');
  // plugin-data is a dev plugin of this checkout; NODE_ENV=development makes oclif load it
  const devEnv = { ...env, NODE_ENV: 'development' };
  for (const object of ['Account', 'Contact', 'Opportunity']) {
    // eslint-disable-next-line no-await-in-loop
    await sf(['data', 'query', '--target-org', 'demo', '--query', `SELECT COUNT() FROM ${object}`], devEnv);
  }
  await sf(
    [
      'data',
      'query',
      '--target-org',
      'demo',
      '--query',
      'SELECT Name, Legacy_Id__c, Account.Name FROM Contact ORDER BY Legacy_Id__c LIMIT 5',
    ],
    devEnv,
  );
} finally {
  await org.stop();
  if (!values.keep) rmSync(home, { recursive: true, force: true });
}
process.exitCode = code;
