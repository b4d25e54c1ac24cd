/*
 * Manifests and sources a hostile or careless user hands to validate (and so to plan and run,
 * which load through the same checks): every one a located problem, none a hang, a crash or a
 * run that writes where it should not.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SfError } from '@salesforce/core';
import { expect } from 'chai';
import { encodingFaultOf, findEncodingFault } from '../../src/manifest/encoding.js';
import { loadManifest, loadManifestOrThrow } from '../../src/manifest/load.js';
import type { Problem } from '../../src/manifest/problems.js';
import { expandSources } from '../../src/manifest/sources.js';
import { validateManifest } from '../../src/manifest/validate.js';

describe('hostile manifests and sources', () => {
  let dir: string;
  const write = (name: string, content: string | Buffer): string => {
    const file = join(dir, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return file;
  };
  const manifest = (value: unknown, name = 'migration.json'): string => write(name, JSON.stringify(value, null, 2));
  const summary = (problems: Problem[]): Array<[string, string, number | undefined]> =>
    problems.map((p) => [p.code, p.pointer, p.line]);
  const steps = (...list: Array<Record<string, unknown>>): unknown => ({
    name: 'm',
    defaults: { operation: 'insert' },
    steps: list,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    write('data/accounts.csv', 'Name\nAcme\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('step ids that name no folder', () => {
    for (const id of ['.', '..', 'accounts.', 'CON', 'nul', 'Com1', 'lpt9.csv', 'aux.x']) {
      it(`refuses the id ${JSON.stringify(id)}, located at the id`, async () => {
        const path = manifest(steps({ id, object: 'Account', source: 'data/accounts.csv' }));
        const result = await validateManifest(path);
        expect(result.valid).to.equal(false);
        expect(summary(result.errors)).to.deep.equal([['UnsafeStepId', '/steps/0/id', 8]]);
        expect(result.errors[0].message).to.include(`"${id}"`);
      });
    }

    it('refuses an object name that is a Windows device name when the id defaults to it', async () => {
      const path = manifest(steps({ object: 'Prn', source: 'data/accounts.csv' }));
      const { errors } = await validateManifest(path);
      expect(summary(errors)).to.deep.equal([['UnsafeStepId', '/steps/0', 7]]);
      expect(errors[0].message).to.include('PRN');
    });

    it('allows ids that only look close: a dot inside, a longer device-like name', async () => {
      const path = manifest(
        steps(
          { id: 'a.b', object: 'Account', source: 'data/accounts.csv' },
          { id: 'console', object: 'Account', source: 'data/accounts.csv' },
          { id: 'com10', object: 'Account', source: 'data/accounts.csv' },
          { id: '.hidden', object: 'Account', source: 'data/accounts.csv' },
        ),
      );
      expect((await validateManifest(path)).errors).to.deep.equal([]);
    });

    it('refuses ids that differ only in case, pointing at the later one and naming the first', async () => {
      const path = manifest(
        steps(
          { id: 'accounts', object: 'Account', source: 'data/accounts.csv' },
          { id: 'Accounts', object: 'Account', source: 'data/accounts.csv' },
          { object: 'Contact', source: 'data/accounts.csv' },
          { id: 'CONTACT', object: 'Contact', source: 'data/accounts.csv' },
        ),
      );
      const { errors } = await validateManifest(path);
      expect(summary(errors)).to.deep.equal([
        ['StepIdsDifferInCase', '/steps/1/id', 13],
        ['StepIdsDifferInCase', '/steps/3/id', 22],
      ]);
      expect(errors[0].message).to.include('"Accounts"').and.include('"accounts"').and.include('/steps/0');
    });

    it('makes run and plan refuse the manifest before anything is written', async () => {
      const path = manifest(steps({ id: '..', object: 'Account', source: 'data/accounts.csv' }));
      const error = await loadManifestOrThrow(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(SfError);
      expect((error as SfError).name).to.equal('InvalidManifestError');
      expect((error as SfError).message).to.include('UnsafeStepId');
    });
  });

  describe('sources that are not files', () => {
    let server: Server | undefined;
    afterEach(() => server?.close());

    it('skips a FIFO a glob meets, and refuses one it reaches through a symlink, without opening either', async () => {
      execFileSync('mkfifo', [join(dir, 'data', 'pipe.csv')]);
      mkdirSync(join(dir, 'links'));
      execFileSync('mkfifo', [join(dir, 'other-pipe')]);
      symlinkSync(join(dir, 'other-pipe'), join(dir, 'links', 'linked.csv'));
      const path = manifest(
        steps(
          { id: 'a', object: 'Account', source: 'data/*.csv' },
          { id: 'b', object: 'Account', source: 'links/*.csv' },
        ),
      );
      const { errors } = await validateManifest(path);
      expect(summary(errors)).to.deep.equal([['SourceUnreadable', '/steps/1/source', 15]]);
      expect(errors[0].message).to.include('linked.csv').and.include('named pipe');
      const { manifest: loaded } = await loadManifest(
        manifest(steps({ id: 'a', object: 'Account', source: 'data/*.csv' }), 'only-data.json'),
      );
      expect(loaded!.steps[0].files).to.deep.equal([join(dir, 'data', 'accounts.csv')]);
    });

    it('refuses a FIFO given as a literal path the same way', async () => {
      execFileSync('mkfifo', [join(dir, 'data', 'pipe.csv')]);
      const { errors } = await validateManifest(manifest(steps({ object: 'Account', source: 'data/pipe.csv' })));
      expect(summary(errors)).to.deep.equal([['SourceUnreadable', '/steps/0/source', 9]]);
      expect(errors[0].message).to.include('named pipe');
    });

    it('refuses a socket and a device a glob reaches through symlinks', async () => {
      server = createServer();
      await new Promise<void>((done) => server!.listen(join(dir, 'socket'), done));
      symlinkSync(join(dir, 'socket'), join(dir, 'data', 'socket.csv'));
      symlinkSync('/dev/null', join(dir, 'data', 'device.csv'));
      const { errors } = await validateManifest(manifest(steps({ object: 'Account', source: 'data/*.csv' })));
      expect(errors.map((e) => e.message).join('\n'))
        .to.match(/device\.csv: it is a device/)
        .and.match(/socket\.csv: it is a socket/);
    });
  });

  describe('globs that would walk too much', () => {
    const step = (source: string): { sources: string[]; pointer: string; sourceIsList: boolean } => ({
      sources: [source],
      pointer: '/steps/0',
      sourceIsList: false,
    });

    it('stops a walk that reads more entries than the cap, naming the pattern and the cap', async () => {
      for (let i = 0; i < 60; i++) write(`deep/d${i % 6}/f${i}.csv`, 'Name\n');
      const { files, problems } = await expandSources(dir, step('**/*.csv'), {
        limits: { maxEntries: 40, maxMatches: 1000 },
      });
      expect(files).to.deep.equal([]);
      expect(summary(problems)).to.deep.equal([['GlobTooBroad', '/steps/0/source', undefined]]);
      expect(problems[0].message).to.include('"**/*.csv"').and.include('more than 40 files and folders');
    });

    it('stops a pattern rooted at / within the same cap', async () => {
      const { problems } = await expandSources(dir, step('/**/*'), { limits: { maxEntries: 2000, maxMatches: 1000 } });
      expect(summary(problems)).to.deep.equal([['GlobTooBroad', '/steps/0/source', undefined]]);
    });

    it('refuses a pattern that matches more files than the cap', async () => {
      for (let i = 0; i < 12; i++) write(`many/f${i}.csv`, 'Name\n');
      const { problems } = await expandSources(dir, step('many/*.csv'), {
        limits: { maxEntries: 1000, maxMatches: 10 },
      });
      expect(problems[0].message).to.include('matches more than 10 files');
    });
  });

  describe('run folders', () => {
    it('a glob never matches inside .sf-migrate or the manifest runFolder', async () => {
      write('.sf-migrate/runs/r1/dead-letter/Account.csv', 'Name\nOld\n');
      write('runs/r1/dead-letter/Account.csv', 'Name\nOld\n');
      write('nested/.sf-migrate/runs/r2/results/x.csv', 'Name\nOld\n');
      const path = manifest({
        ...(steps(
          { id: 'all', object: 'Account', source: '**/*.csv' },
          { id: 'dot', object: 'Account', source: '.sf-migrate/runs/*/dead-letter/*.csv' },
        ) as object),
        runFolder: 'runs',
      });
      const { manifest: loaded, problems } = await loadManifest(path);
      expect(summary(problems)).to.deep.equal([['SourceNotFound', '/steps/1/source', 15]]);
      const glob = await expandSources(
        dir,
        { sources: ['**/*.csv'], pointer: '/steps/0', sourceIsList: false },
        {
          runFolders: [join(dir, 'runs')],
        },
      );
      expect(glob.files.map((f) => f.file)).to.deep.equal([join(dir, 'data', 'accounts.csv')]);
      expect(loaded).to.equal(undefined);
    });
  });

  describe('a source outside the manifest folder', () => {
    it('is a warning, located at the source', async () => {
      const path = manifest(steps({ object: 'Account', source: '../data/accounts.csv' }), 'sub/migration.json');
      const result = await validateManifest(path);
      expect(result.valid).to.equal(true);
      expect(summary(result.warnings)).to.deep.equal([['SourceOutsideManifest', '/steps/0/source', 9]]);
      expect(result.warnings[0].message).to.include('../data/accounts.csv');
    });

    it('is no warning for a file inside it', async () => {
      const result = await validateManifest(manifest(steps({ object: 'Account', source: 'data/accounts.csv' })));
      expect(result.warnings).to.deep.equal([]);
    });
  });

  describe('encodings', () => {
    const check = async (content: Buffer): Promise<Problem[]> => {
      write('data/encoded.csv', content);
      return (await validateManifest(manifest(steps({ object: 'Account', source: 'data/encoded.csv' })))).errors;
    };

    it('finds a UTF-16 file by its byte order mark, on line 1', async () => {
      const errors = await check(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Name\nAcme\n', 'utf16le')]));
      expect(summary(errors)).to.deep.equal([['SourceEncoding', '/steps/0/source', 9]]);
      expect(errors[0].message).to.include('encoded.csv').and.include('line 1 ').and.include('UTF-16');
    });

    it('finds a NUL byte (binary, or UTF-16 without a byte order mark) with its line', async () => {
      const errors = await check(Buffer.from('Name\nAcme\nGlo\u0000bex\n'));
      expect(errors[0].message).to.include('line 3 (byte 13)').and.include('NUL');
    });

    it('finds a Latin-1 byte in the first records with its line', async () => {
      const errors = await check(
        Buffer.concat([Buffer.from('Name\nAcme\nCaf'), Buffer.from([0xe9]), Buffer.from('\n')]),
      );
      expect(summary(errors)).to.deep.equal([['SourceEncoding', '/steps/0/source', 9]]);
      expect(errors[0].message).to.include('line 3 (byte 13)').and.include('not valid UTF-8');
    });

    it('accepts UTF-8 with a BOM and characters of every length', async () => {
      expect(await check(Buffer.from('\uFEFFName\nCafé ☕ 𝄞 日本\n'))).to.deep.equal([]);
    });

    it('judges only the bytes read: a character cut by the end of the scan is no fault', async () => {
      const text = Buffer.from('Name\n' + 'é'.repeat(10));
      expect(encodingFaultOf(text.subarray(0, 8), false)).to.equal(undefined);
      expect(encodingFaultOf(text.subarray(0, 8), true)).to.deep.include({ kind: 'invalidUtf8', line: 2, byte: 7 });
      const file = write('data/cut.csv', text);
      expect(await findEncodingFault(file, 8)).to.equal(undefined);
    });

    it('refuses overlong forms, surrogates and code points past U+10FFFF', () => {
      for (const bytes of [
        [0xc0, 0x80],
        [0xe0, 0x80, 0x80],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xf5, 0x80, 0x80, 0x80],
        [0xe2, 0x28, 0xa1],
      ]) {
        expect(encodingFaultOf(Uint8Array.from([0x41, ...bytes]), true), bytes.join(' ')).to.deep.include({
          kind: 'invalidUtf8',
          byte: 1,
        });
      }
    });
  });

  describe('failureThreshold', () => {
    it('refuses {} in the defaults and in a step, located, naming the bounds', async () => {
      const path = manifest({
        name: 'm',
        defaults: { operation: 'insert', failureThreshold: {} },
        steps: [{ object: 'Account', source: 'data/accounts.csv', failureThreshold: {} }],
      });
      const { errors } = await validateManifest(path);
      expect(summary(errors)).to.deep.equal([
        ['SchemaViolation', '/defaults/failureThreshold', 5],
        ['SchemaViolation', '/steps/0/failureThreshold', 11],
      ]);
      expect(errors[0].message).to.equal('Set at least 1 of: percent, records.');
    });
  });

  describe('a manifest that is not a small file', () => {
    const refusal = async (path: string): Promise<SfError> =>
      loadManifest(path).then(
        () => expect.fail('loaded'),
        (e: unknown) => e as SfError,
      );

    it('refuses a FIFO without waiting for a writer', async () => {
      execFileSync('mkfifo', [join(dir, 'pipe.json')]);
      const error = await refusal(join(dir, 'pipe.json'));
      expect(error.name).to.equal('ManifestNotReadableError');
      expect(error.message).to.include('pipe.json').and.include('not a regular file');
    });

    it('refuses a file over 10 MB without reading it', async () => {
      const path = write('huge.json', '');
      truncateSync(path, 10_000_001);
      expect((await refusal(path)).message).to.include('larger than 10000000 bytes');
    });
  });

  describe('very deep JSON', () => {
    it('is a located error, not a stack overflow', async () => {
      const depth = 100_000;
      write('deep.json', `{"name": "m", "steps": [\n  ${'['.repeat(depth)}${']'.repeat(depth)}]}`);
      const result = await validateManifest(join(dir, 'deep.json'));
      expect(result.valid).to.equal(false);
      expect(result.errors).to.have.length(1);
      expect(result.errors[0]).to.deep.include({ code: 'JsonTooDeep', pointer: '', line: 2, column: 65 });
      expect(result.errors[0].message).to.include('64 levels');
    });

    it('counts no bracket inside a string', async () => {
      const path = manifest({
        ...(steps({ object: 'Account', source: 'data/accounts.csv' }) as object),
        description: '['.repeat(200) + '\\"{',
      });
      expect((await validateManifest(path)).errors).to.deep.equal([]);
    });
  });
});
