/*
 * The one way a test stands up a local org, and the session a NUT file runs its CLI commands in.
 *
 * NUT files run in parallel (mocha --parallel), one file per worker process at a time, so nothing a
 * file does may leak into the process: no global HOME. Each session has its own temp folder with its
 * own HOME (the sf state folders .sf and .sfdx live there), handed to every CLI child through the
 * env of its spawn. Each org listens on a free port (port 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StateAggregator } from '@salesforce/core';
import { execCmd, type ExecCmdResult } from '@salesforce/cli-plugins-testkit';
import { registerLocalOrg, startLocalOrg, type LocalOrg, type LocalOrgOptions } from '@sf-migrate/local-org';

export type { LocalOrg, LocalOrgOptions, FaultSettings } from '@sf-migrate/local-org';

export type TestOrgOptions = LocalOrgOptions & { alias: string };

/** the variables that point @salesforce/core (and so every sf command) at a state folder under `home` */
function homeEnv(home: string): Record<string, string> {
  // a file-based key next to the auth files, so nothing lands in the user's real keychain
  return { HOME: home, USERPROFILE: home, SF_USE_GENERIC_UNIX_KEYCHAIN: 'true' };
}

let inHomeCall = false;

/**
 * Runs `fn` with HOME pointing at `home`, then puts HOME back. Only for code in this process that
 * reads the sf state folder and takes no folder of its own: @salesforce/core's AuthInfo and Org
 * (os.homedir() throughout) and the job index (Global.SF_DIR). CLI children get their HOME through
 * their env instead. Calls must not overlap: while `fn` awaits, HOME is changed for the process.
 */
export async function inHome<T>(home: string, fn: () => Promise<T>): Promise<T> {
  if (inHomeCall) throw new Error('inHome: calls must not overlap');
  inHomeCall = true;
  const saved = Object.fromEntries(Object.keys(homeEnv(home)).map((key) => [key, process.env[key]]));
  Object.assign(process.env, homeEnv(home));
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    inHomeCall = false;
  }
}

/**
 * Starts a local org in this process on a free port and registers it under `alias` in the sf
 * state folder of `home`, with its refresh token. Stop it with `await org.stop()`.
 *
 * The org answers from THIS process: run commands against it asynchronously (NutSession.sf or
 * NutSession.spawn). A synchronous execCmd blocks this process's event loop and the command hangs.
 */
export async function startTestOrg(home: string, options: TestOrgOptions): Promise<LocalOrg> {
  const { alias, ...orgOptions } = options;
  const org = await startLocalOrg({ port: 0, ...orgOptions });
  try {
    await inHome(home, () => registerLocalOrg(org, { alias }));
  } catch (error) {
    await org.stop();
    throw error;
  }
  return org;
}

export type CliExit = { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export type CliOptions = {
  /** the exit code the command must end with (execCmd's ensureExitCode); default 0 */
  code?: number;
  /** default: the session folder */
  cwd?: string;
  /** added to the session's env */
  env?: Record<string, string>;
  /** load the dev plugins (plugin-auth, plugin-data); slower to start, so only when a test needs them */
  devPlugins?: boolean;
};

export type NutSession = {
  /** the session's temp folder */
  readonly dir: string;
  /** HOME of every CLI child of this session */
  readonly home: string;
  /** a fresh folder inside the session for the current test */
  readonly testDir: string;
  /** the first org of the session */
  readonly org: LocalOrg;
  /** the session's orgs by alias (those started later with startOrg included) */
  orgOf(alias: string): LocalOrg;
  /** another org registered in this session's HOME, stopped with the session */
  startOrg(options: TestOrgOptions): Promise<LocalOrg>;
  /** the env a CLI child of this session runs with */
  env(extra?: CliOptions): NodeJS.ProcessEnv;
  /** `sf <command>` through the testkit's execCmd, always asynchronously (the orgs answer from here) */
  sf<T>(command: string, options?: CliOptions): Promise<ExecCmdResult<T>>;
  /** `sf <args>` as a child of this process, for tests that signal it (SIGSTOP) or let it kill itself */
  spawn(args: string[], options?: Omit<CliOptions, 'code'>): { child: ChildProcess; exit: Promise<CliExit> };
  /** runs `fn` with this session's HOME, for in-process code that reads the sf state folder (see inHome) */
  inHome<T>(fn: () => Promise<T>): Promise<T>;
};

const BIN = resolve('bin', 'run.js');

/**
 * The mocha hooks a NUT file needs: a session folder with its own HOME, the local orgs `orgs`
 * registered there (default: one under the alias 'local'), and a fresh folder per test named
 * `<prefix>-<n>`. Call it at the top of a describe block; read the fields inside tests and hooks.
 */
export function useNutSession(prefix: string, orgs: TestOrgOptions[] = [{ alias: 'local' }]): NutSession {
  let dir = '';
  let home = '';
  let testDir = '';
  let counter = 0;
  const started = new Map<string, LocalOrg>();

  const startOrg = async (options: TestOrgOptions): Promise<LocalOrg> => {
    if (started.has(options.alias)) throw new Error(`an org is already registered as ${options.alias}`);
    const org = await startTestOrg(home, options);
    started.set(options.alias, org);
    return org;
  };
  const env = (extra: CliOptions = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    ...homeEnv(home),
    SF_DISABLE_TELEMETRY: 'true',
    SF_AUTOUPDATE_DISABLE: 'true',
    // plain output whatever the machine: with CI=true the CLI colours its errors, and tests read
    // the text (the control-character test must see only what the data put there)
    FORCE_COLOR: '0',
    // production: oclif skips the dev plugins, which halves the start-up time of every command
    NODE_ENV: extra.devPlugins ? 'test' : 'production',
    ...extra.env,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `nut-${prefix}-`));
    home = join(dir, 'home');
    mkdirSync(home, { recursive: true });
    for (const options of orgs) {
      // eslint-disable-next-line no-await-in-loop
      await startOrg(options);
    }
  });
  after(async () => {
    await Promise.all([...started.values()].map((org) => org.stop()));
    started.clear();
    if (home) StateAggregator.clearInstance(join(home, '.sfdx'));
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    testDir = join(dir, `${prefix}-${++counter}`);
    mkdirSync(testDir, { recursive: true });
  });

  return {
    get dir(): string {
      return dir;
    },
    get home(): string {
      return home;
    },
    get testDir(): string {
      return testDir;
    },
    get org(): LocalOrg {
      const org = orgs.length > 0 ? started.get(orgs[0].alias) : undefined;
      if (!org) throw new Error(`the session ${prefix} has no org (yet)`);
      return org;
    },
    orgOf(alias: string): LocalOrg {
      const org = started.get(alias);
      if (!org) throw new Error(`no org registered as ${alias}`);
      return org;
    },
    startOrg,
    env,
    sf: <T>(command: string, options: CliOptions = {}): Promise<ExecCmdResult<T>> =>
      execCmd<T>(command, {
        ensureExitCode: options.code ?? 0,
        async: true,
        cwd: options.cwd ?? dir,
        env: env(options),
      }),
    spawn(args: string[], options: Omit<CliOptions, 'code'> = {}): { child: ChildProcess; exit: Promise<CliExit> } {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: env(options),
        cwd: options.cwd ?? dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exit = new Promise<CliExit>((done) => {
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (piece: string) => (stdout += piece));
        child.stderr.setEncoding('utf8').on('data', (piece: string) => (stderr += piece));
        child.on('close', (status, signal) => done({ status, signal, stdout, stderr }));
      });
      return { child, exit };
    },
    inHome: <T>(fn: () => Promise<T>): Promise<T> => inHome(home, fn),
  };
}
