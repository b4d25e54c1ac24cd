import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import {
  escapeGithubData,
  escapeGithubProperty,
  escapeXml,
  githubAnnotations,
  junitReport,
} from '../../src/manifest/ciReport.js';
import type { Problem } from '../../src/manifest/problems.js';
import { validateManifestReport, type ValidateResult } from '../../src/manifest/validate.js';

const problem = (over: Partial<Problem>): Problem => ({
  severity: 'error',
  code: 'SourceNotFound',
  pointer: '/steps/0/source',
  line: 7,
  column: 5,
  message: 'nothing',
  ...over,
});

const resultOf = (errors: Problem[], warnings: Problem[] = []): ValidateResult => ({
  manifest: '/repo/migration.json',
  valid: errors.length === 0,
  errors,
  warnings,
  steps: 0,
  waves: [],
});

type JUnit = {
  testsuites: {
    $: { tests: string; failures: string };
    testsuite: Array<{
      testcase: Array<{
        $: { name: string; classname: string };
        failure?: Array<{ _: string; $: { type: string; message: string } }>;
        'system-out'?: string[];
      }>;
    }>;
  };
};

describe('validate reports for CI', () => {
  describe('GitHub Actions annotations', () => {
    it('escapes %, CR and LF in the message, and also : and , in properties', () => {
      expect(escapeGithubData('50% done\r\nnext: a,b')).to.equal('50%25 done%0D%0Anext: a,b');
      expect(escapeGithubProperty('C:\\x,y%\n')).to.equal('C%3A\\x%2Cy%25%0A');
    });

    it('prints one workflow command per problem, located in the manifest, errors before warnings', () => {
      const lines = githubAnnotations(
        resultOf(
          [problem({ message: 'a "b"\nc', line: 11, column: 3 })],
          [
            problem({
              severity: 'warning',
              code: 'ParentWithoutStep',
              pointer: '',
              line: undefined,
              column: undefined,
            }),
          ],
        ),
        'config/m,1:2.json',
      );
      expect(lines).to.deep.equal([
        '::error file=config/m%2C1%3A2.json,line=11,col=3,title=SourceNotFound::a "b"%0Ac (/steps/0/source)',
        '::warning file=config/m%2C1%3A2.json,line=1,col=1,title=ParentWithoutStep::nothing',
      ]);
    });
  });

  describe('JUnit XML', () => {
    it('escapes markup and the characters XML 1.0 cannot carry', async () => {
      const text = 'a<b>&"c\'\u0001\u0007\t\n\uFFFE\uD800x';
      expect(escapeXml(text)).to.equal('a&lt;b&gt;&amp;&quot;c&apos;\\u0001\\u0007\t\n\\ufffe\\ud800x');
      const parsed = (await parseStringPromise(`<x a="${escapeXml(text)}">${escapeXml(text)}</x>`)) as {
        x: { _: string; $: { a: string } };
      };
      expect(parsed.x._).to.equal('a<b>&"c\'\\u0001\\u0007\t\n\\ufffe\\ud800x');
    });

    it('has one testcase per step and one for the manifest; errors fail, warnings do not', async () => {
      const xml = junitReport(
        resultOf(
          [
            problem({ pointer: '/steps/1/source', message: 'first <bad>' }),
            problem({ pointer: '/steps/1/mapping/drop/0', code: 'MappingColumnMissing', message: 'second' }),
            problem({ pointer: '/name', code: 'SchemaViolation', message: 'root' }),
          ],
          [problem({ severity: 'warning', pointer: '/steps/0/source', code: 'ParentWithoutStep', message: 'w' })],
        ),
        'm.json',
        [
          { pointer: '/steps/0', id: 'accounts' },
          { pointer: '/steps/1', id: 'contacts' },
          { pointer: '/steps/10', id: 'tenth' },
        ],
      );
      const junit = (await parseStringPromise(xml)) as JUnit;
      expect(junit.testsuites.$).to.include({ tests: '4', failures: '2' });
      const cases = junit.testsuites.testsuite[0].testcase;
      expect(cases.map((c) => c.$.name)).to.deep.equal([
        'manifest',
        'step accounts (/steps/0)',
        'step contacts (/steps/1)',
        'step tenth (/steps/10)',
      ]);
      expect(cases[0].failure?.[0].$).to.deep.equal({ type: 'SchemaViolation', message: 'root' });
      expect(cases[1].failure).to.equal(undefined);
      expect(cases[1]['system-out']?.[0]).to.equal('m.json:7:5  warning  ParentWithoutStep  w (/steps/0/source)');
      expect(cases[2].failure?.[0].$.message).to.equal('2 errors; first: first <bad>');
      expect(cases[2].failure?.[0]._).to.equal(
        'm.json:7:5  error  SourceNotFound  first <bad> (/steps/1/source)\n' +
          'm.json:7:5  error  MappingColumnMissing  second (/steps/1/mapping/drop/0)',
      );
      expect(cases[3]).to.not.have.property('failure');
    });

    it('lists the steps of a manifest that has errors, from the file itself', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ci-report-'));
      try {
        writeFileSync(join(dir, 'a.csv'), 'Name\nAcme\n');
        writeFileSync(
          join(dir, 'm.json'),
          JSON.stringify({
            name: 'x',
            steps: [
              { object: 'Account', source: 'a.csv', operation: 'insert' },
              { id: 'c', object: 'Contact', source: 'missing.csv', operation: 'insert' },
            ],
          }),
        );
        const { result, steps } = await validateManifestReport(join(dir, 'm.json'));
        expect(steps).to.deep.equal([
          { pointer: '/steps/0', id: 'Account' },
          { pointer: '/steps/1', id: 'c' },
        ]);
        const junit = (await parseStringPromise(junitReport(result, 'm.json', steps))) as JUnit;
        const failed = junit.testsuites.testsuite[0].testcase.filter((c) => c.failure);
        expect(failed.map((c) => c.$.name)).to.deep.equal(['step c (/steps/1)']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
