/*
 * `sf migrate validate` in the two languages CI systems read without a plugin: GitHub Actions
 * workflow commands (annotations on the manifest's lines in a pull request) and JUnit XML (one
 * testcase per step and per manifest-wide check, which Jenkins, GitLab and Azure DevOps display).
 */
import type { Problem } from './problems.js';
import type { ValidateResult } from './validate.js';

/** A step as the manifest names it, so its problems can be grouped even when the manifest is invalid. */
export type ReportedStep = { pointer: string; id: string };

/**
 * GitHub's rules for workflow command values (actions/toolkit, command.ts): the message escapes
 * %, CR and LF; a property value also escapes ':' and ','.
 */
export const escapeGithubData = (text: string): string =>
  text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

export const escapeGithubProperty = (text: string): string =>
  escapeGithubData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error file=…,line=…,col=…,title=…::message` for every problem, errors first. */
export function githubAnnotations(result: ValidateResult, file: string): string[] {
  return [...result.errors, ...result.warnings].map((p) => {
    const properties = [
      `file=${escapeGithubProperty(file)}`,
      `line=${p.line ?? 1}`,
      `col=${p.column ?? 1}`,
      `title=${escapeGithubProperty(p.code)}`,
    ].join(',');
    return `::${p.severity} ${properties}::${escapeGithubData(describe(p))}`;
  });
}

/**
 * XML 1.0 text: the five markup characters as entities, and the characters XML cannot carry at all
 * (C0 controls but tab, CR and LF; U+FFFE, U+FFFF; lone surrogates) shown as \uXXXX, since a CSV
 * header with a stray control character must not make the report unreadable.
 */
const notXml = new RegExp(
  [
    '[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]',
    '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])',
    '(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]',
  ].join('|'),
  'g',
);

export function escapeXml(text: string): string {
  return text
    .replace(notXml, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

type TestCase = { name: string; errors: Problem[]; warnings: Problem[] };

/**
 * One testcase per step (its problems are those whose pointer lies inside the step), one for the
 * rest of the manifest, and one for the org when the manifest was checked against one. Warnings go
 * to the testcase's system-out: they do not fail it.
 */
export function junitReport(result: ValidateResult, file: string, steps: ReportedStep[]): string {
  const cases: TestCase[] = [
    { name: 'manifest', errors: [], warnings: [] },
    ...steps.map((s) => ({ name: `step ${s.id} (${s.pointer})`, errors: [], warnings: [] })),
  ];
  const orgCase: TestCase | undefined = result.org
    ? { name: `org ${result.org.username}`, errors: [], warnings: [] }
    : undefined;
  if (orgCase) cases.push(orgCase);
  const caseOf = (p: Problem): TestCase => {
    const k = steps.findIndex((s) => p.pointer === s.pointer || p.pointer.startsWith(`${s.pointer}/`));
    if (k >= 0) return cases[k + 1];
    return orgCase && isOrgProblem(p) ? orgCase : cases[0];
  };
  for (const p of result.errors) caseOf(p).errors.push(p);
  for (const p of result.warnings) caseOf(p).warnings.push(p);

  const failures = cases.filter((c) => c.errors.length > 0).length;
  const suite = `sf migrate validate ${file}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${escapeXml(file)}" name="${escapeXml(c.name)}"`;
    if (c.errors.length === 0 && c.warnings.length === 0) {
      lines.push(`${open}/>`);
      continue;
    }
    lines.push(`${open}>`);
    if (c.errors.length > 0) {
      const first = c.errors[0];
      const summary = c.errors.length === 1 ? first.message : `${c.errors.length} errors; first: ${first.message}`;
      lines.push(
        `      <failure type="${escapeXml(first.code)}" message="${escapeXml(summary)}">` +
          `${escapeXml(c.errors.map((p) => located(file, p)).join('\n'))}</failure>`,
      );
    }
    if (c.warnings.length > 0) {
      lines.push(`      <system-out>${escapeXml(c.warnings.map((p) => located(file, p)).join('\n'))}</system-out>`);
    }
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return lines.join('\n');
}

/** The human format's line: path:line:col  severity  code  message (pointer) */
export function located(file: string, p: Problem): string {
  return `${file}:${p.line ?? 1}:${p.column ?? 1}  ${p.severity}  ${p.code}  ${describe(p)}`;
}

const describe = (p: Problem): string => `${p.message}${p.pointer ? ` (${p.pointer})` : ''}`;

const orgCodes = new Set<Problem['code']>(['ApiBudget']);
const isOrgProblem = (p: Problem): boolean => orgCodes.has(p.code);
