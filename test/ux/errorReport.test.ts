import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SfError } from '@salesforce/core';
import { expect } from 'chai';
import { BulkApiError, UploadInterruptedError } from '../../src/bulk/errors.js';
import { NETWORK_FAILURE_EXIT_CODE } from '../../src/engine/outcome.js';
import type { LoadedManifest, ResolvedStep } from '../../src/manifest/types.js';
import { actionableError, manifestKeyOf, networkFailureCode, type ErrorContext } from '../../src/ux/errorReport.js';

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: something, ${syscall}${path ? ` '${path}'` : ''}`);
  return Object.assign(error, { code, syscall, ...(path ? { path } : {}) });
}

function manifestAt(dir: string, runFolder?: string): LoadedManifest {
  const step = (id: string, file: string): ResolvedStep =>
    ({ id, object: id, files: [file] }) as unknown as ResolvedStep;
  return {
    path: join(dir, 'migration.json'),
    dir,
    name: 'm',
    raw: { name: 'm', steps: [], ...(runFolder ? { runFolder } : {}) },
    steps: [step('Account', join(dir, 'accounts.csv')), step('Contact', join(dir, 'contacts.csv'))],
    waves: [['Account'], ['Contact']],
    implied: [],
    concurrency: 1,
    runFolder: join(dir, runFolder ?? '.sf-migrate/runs'),
  } as LoadedManifest;
}

describe('actionableError', () => {
  let dir: string;
  let context: ErrorContext;
  const resume = (): string => `sf migrate resume --manifest ${join(dir, 'migration.json')} --run-id R1`;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sf-migrate-errors-'));
    const manifest = manifestAt(dir);
    context = {
      manifest,
      run: {
        manifestPath: manifest.path,
        runId: 'R1',
        runDir: join(manifest.runFolder, 'R1'),
        instanceUrl: 'https://acme.my.salesforce.com',
      },
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('names the file, the runFolder key and the next command for a real ENOTDIR in the run folder', async () => {
    // a file where the run folder's results folder should be
    await mkdir(join(dir, '.sf-migrate', 'runs', 'R1'), { recursive: true });
    await writeFile(join(dir, '.sf-migrate', 'runs', 'R1', 'results'), 'not a folder');
    const target = join(dir, '.sf-migrate', 'runs', 'R1', 'results', 'Account');
    const raw = await mkdir(target, { recursive: true }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const error = actionableError(raw, context);
    expect(error.name).to.equal('FileSystemError');
    expect(error.message).to.include(target).and.include('runFolder (default .sf-migrate/runs) in the manifest');
    expect(error.message).to.include('a file where a folder is expected').and.include('ENOTDIR');
    expect(error.actions).to.have.length(1);
    expect(error.actions![0]).to.include(`Fix the path "${target}"`).and.include(resume());
    expect(error.data).to.include({ code: 'ENOTDIR', path: target, runId: 'R1' });
  });

  it('names steps[n].source for a source the run cannot read', () => {
    const source = join(dir, 'contacts.csv');
    const error = actionableError(errno('EACCES', 'open', source), context);
    expect(error.message).to.include(`"${source}" (steps[1].source, step "Contact" in the manifest)`);
    expect(error.message).to.include('permission denied (EACCES)');
    expect(error.actions![0]).to.include('Give your user access').and.include(resume());
  });

  it('says the disk is full, once, with the resume command (journal append, result download, dead letters)', () => {
    const journal = join(dir, '.sf-migrate', 'runs', 'R1', 'journal.jsonl');
    const error = actionableError(errno('ENOSPC', 'write', journal), context);
    expect(error.message)
      .to.include('Could not write to')
      .and.include(journal)
      .and.include('the disk is full (ENOSPC)');
    expect(error.actions!.join('\n').split(resume())).to.have.length(2);
    expect(error.actions![0]).to.include('Free space on the disk');
  });

  it('maps a path-less errno (a folder read as a file) and an upload whose source broke', () => {
    const pathless = actionableError(errno('EISDIR', 'read'), context);
    expect(pathless.message)
      .to.include('a folder where a file is expected (EISDIR)')
      .and.include(join(dir, '.sf-migrate', 'runs', 'R1'));
    const source = join(dir, 'accounts.csv');
    const upload = new UploadInterruptedError(
      { jobId: '750x', bytesSent: 0, status: 0, reason: 'EIO', origin: 'body' },
      errno('EIO', 'read', source),
    );
    expect(actionableError(upload, context).message).to.include('steps[0].source').and.include('input/output error');
  });

  it('names the manifest key by path alone, a custom runFolder, a retry derived manifest, and the --manifest file', () => {
    const custom = manifestAt(dir, 'runs-elsewhere');
    expect(manifestKeyOf(join(dir, 'runs-elsewhere', 'x', 'lock'), { manifest: custom })).to.equal('runFolder');
    expect(manifestKeyOf(join(dir, 'runs-elsewhere', 'x'), { runRoot: join(dir, 'runs-elsewhere') })).to.match(
      /^runFolder/,
    );
    expect(manifestKeyOf(join(dir, 'migration.json'), { manifest: custom })).to.equal('the --manifest file itself');
    expect(manifestKeyOf('/elsewhere/file', { manifest: custom })).to.equal(undefined);
    const derived = { ...context, run: { ...context.run!, manifestPath: '/user/migration.json' } };
    expect(manifestKeyOf(join(dir, 'accounts.csv'), derived)).to.equal('the source of step "Account"');
  });

  it('shows the SfError that stopped an upload from reading its source, not the interrupted upload', () => {
    const changed = new SfError('accounts.csv changed since the run began', 'SourceChangedError');
    const upload = new UploadInterruptedError(
      { jobId: '750x', bytesSent: 5, status: 0, reason: 'changed', origin: 'body' },
      changed,
    );
    expect(actionableError(upload, context).name).to.equal('SourceChangedError');
    const network = new UploadInterruptedError(
      { jobId: '750x', bytesSent: 5, status: 0, reason: 'reset', origin: 'network' },
      changed,
    );
    expect(actionableError(network, context).name).to.not.equal('SourceChangedError');
  });

  it('leaves an SfError of the library as it is, adding the resume command', () => {
    const own = new SfError('Wave 2 did not pass', 'GateError', ['Fix the data']);
    const error = actionableError(own, context);
    expect(error.message).to.equal('Wave 2 did not pass');
    expect(error.actions).to.deep.equal(['Fix the data', `Continue the run once the cause is fixed: ${resume()}`]);
  });

  it('never echoes control characters from data in messages or actions', () => {
    const own = new SfError('bad value "\x1b[2J\x1b[Hall good"\r', 'CsvError', ['look at row "\x9b31m"']);
    const error = actionableError(own, context);
    expect(error.message).to.equal('bad value "\\u001b[2J\\u001b[Hall good"\\u000d');
    expect(error.actions![0]).to.equal('look at row "\\u009b31m"');
  });
});

describe('network failures', () => {
  const context: ErrorContext = {
    run: { manifestPath: '/m.json', runId: 'R1', runDir: '/runs/R1', instanceUrl: 'https://acme.my.salesforce.com' },
  };
  const socket = (code: string): Error => Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code });

  it('exit with their own code, naming the instance URL and the resume command', () => {
    const refused = new BulkApiError(
      {
        method: 'GET',
        path: '/services/data/v62.0/jobs/ingest/750x',
        status: 0,
        errorCode: 'ECONNREFUSED',
        serverMessage: 'refused',
        attempts: 5,
      },
      new TypeError('fetch failed', { cause: socket('ECONNREFUSED') }),
    );
    const error = actionableError(refused, context);
    expect(error.exitCode).to.equal(NETWORK_FAILURE_EXIT_CODE);
    // sf turns any TypeError in the cause chain (undici's "fetch failed" is one) into exit code 10
    for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
      expect(cause, 'a TypeError in the cause chain').to.not.be.instanceOf(TypeError);
      expect(cause.stack ?? '').to.not.include('TypeError');
    }
    expect(NETWORK_FAILURE_EXIT_CODE).to.not.be.oneOf([0, 1, 2, 68, 69, 130, 143]);
    expect(error.name).to.equal('NetworkFailureError');
    expect(error.message).to.include('https://acme.my.salesforce.com');
    expect(error.actions!.join('\n')).to.include('sf migrate resume --manifest /m.json --run-id R1');
    expect(error.data).to.include({ code: 'ECONNREFUSED', instanceUrl: 'https://acme.my.salesforce.com', attempts: 5 });
  });

  it('covers unknown hosts, resets, timeouts and interrupted uploads, and nothing the org answered', () => {
    expect(networkFailureCode(socket('ENOTFOUND'))).to.equal('ENOTFOUND');
    expect(networkFailureCode(new Error('fetch failed', { cause: socket('ECONNRESET') }))).to.equal('ECONNRESET');
    expect(networkFailureCode(socket('UND_ERR_HEADERS_TIMEOUT'))).to.equal('UND_ERR_HEADERS_TIMEOUT');
    expect(
      networkFailureCode(
        new UploadInterruptedError(
          { jobId: '750x', bytesSent: 10, status: 0, reason: 'reset', origin: 'network' },
          socket('ECONNRESET'),
        ),
      ),
    ).to.equal('ECONNRESET');
    const serverError = new BulkApiError({
      method: 'GET',
      path: '/x',
      status: 503,
      errorCode: 'ERROR_HTTP_503',
      serverMessage: 'down',
    });
    expect(networkFailureCode(serverError)).to.equal(undefined);
    expect(actionableError(serverError, context).exitCode).to.not.equal(NETWORK_FAILURE_EXIT_CODE);
    expect(networkFailureCode(new SfError('ECONNREFUSED in a message only'))).to.equal(undefined);
  });

  it('without a run yet, says to run the command again', () => {
    const error = actionableError(socket('ENOTFOUND'), {});
    expect(error.exitCode).to.equal(NETWORK_FAILURE_EXIT_CODE);
    expect(error.message).to.include('the target org');
    expect(error.actions!.join('\n')).to.include('run the command again');
  });
});
