/*
 * The verification as one self-contained HTML page a person can sign off: inline CSS, no script,
 * no link, image or font from anywhere (it is opened on machines that may not reach the network,
 * and must not call out), every value escaped (record values are customer data and may hold
 * markup). Written atomically: a report is complete or absent.
 */
import { Messages } from '@salesforce/core';
import { writeFileAtomically } from '../journal/durable.js';
import type { Discrepancy, StepVerification, VerifyResult } from './types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'verify');

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1b1b1b}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a6b2d;font-weight:600}.bad{color:#b00020;font-weight:600}
code,td.v{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
.sign{margin-top:3em;border-top:1px solid #999;padding-top:1em}`;

const count = (n: number): string => n.toLocaleString('en-US');

const text = (key: string, tokens: Array<string | number> = []): string => messages.getMessage(key, tokens);

const STEP_COLUMNS = [
  'wave',
  'step',
  'object',
  'operation',
  'sourceRecords',
  'succeeded',
  'deadLetters',
  'heldBack',
  'retryRounds',
  'checkedInOrg',
  'sampled',
  'result',
  'finishedAt',
  'duration',
];
const DISCREPANCY_COLUMNS = ['step', 'what', 'record', 'field', 'expected', 'actual'];

function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  const s = Math.round(ms / 1000);
  return s < 60 ? text('report.seconds', [s]) : text('report.minutes', [Math.floor(s / 60), s % 60]);
}

function row(cells: Array<[string, string?]>): string {
  return `<tr>${cells.map(([value, cls]) => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(value)}</td>`).join('')}</tr>`;
}

function stepRow(step: StepVerification): string {
  const problems = Object.values(step.discrepancies).reduce((sum, n) => sum + (n ?? 0), 0);
  return row([
    [String(step.wave + 1), 'n'],
    [step.step],
    [step.object],
    [step.operation],
    [count(step.sourceRecords), 'n'],
    [count(step.succeeded), 'n'],
    [count(step.deadLetters), 'n'],
    [count(step.heldBack), 'n'],
    [count(step.retryRounds), 'n'],
    [count(step.checkedInOrg), 'n'],
    [count(step.sampled), 'n'],
    [
      problems === 0 ? text('report.reconciled') : text('report.stepDiscrepancies', [count(problems)]),
      problems === 0 ? 'ok' : 'bad',
    ],
    [step.finishedAt ?? ''],
    [duration(step.durationMs), 'n'],
  ]);
}

function discrepancyRow(d: Discrepancy): string {
  return row([
    [d.step],
    [messages.getMessage(`kind.${d.kind}`)],
    [d.key ?? '', 'v'],
    [d.field ?? ''],
    [d.expected ?? '', 'v'],
    [d.actual ?? '', 'v'],
  ]);
}

const header = (names: string[]): string => `<tr>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}</tr>`;

/** the page, as one string: the listed discrepancies are bounded (LISTED_PER_STEP), so it is too */
export function renderReport(result: VerifyResult, generatedAt: Date): string {
  const total = result.discrepancies.length + result.discrepanciesOmitted;
  const verdict = result.verified
    ? `<p class="ok">${escapeHtml(text('report.verified'))}</p>`
    : `<p class="bad">${escapeHtml(text('report.discrepancies', [count(total)]))}</p>`;
  const facts: Array<[string, string]> = [
    [text('report.fact.run'), result.runId],
    [text('report.fact.manifest'), result.manifest],
    [text('report.fact.org'), `${result.username} (${result.orgId})`],
    [text('report.fact.status'), result.runStatus],
    [text('report.fact.started'), result.startedAt],
    [text('report.fact.finished'), result.finishedAt ?? ''],
    [text('report.fact.sample'), text('report.sample', [result.sampleSize, result.seed])],
    [text('report.fact.verifiedAt'), generatedAt.toISOString()],
  ];
  const omitted =
    result.discrepanciesOmitted > 0
      ? `<p>${escapeHtml(messages.getMessage('line.omitted', [count(result.discrepanciesOmitted)]))}</p>`
      : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(text('report.title', [result.runId]))}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(text('report.title', [result.runId]))}</h1>
${verdict}
<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2>${escapeHtml(text('steps.title'))}</h2>
<table>${header(STEP_COLUMNS.map((column) => text(`report.column.${column}`)))}
${result.steps.map(stepRow).join('\n')}</table>
<h2>${escapeHtml(text('discrepancies.title'))}</h2>
${
  result.discrepancies.length === 0
    ? `<p>${escapeHtml(text('report.none'))}</p>`
    : `<table>${header(DISCREPANCY_COLUMNS.map((column) => text(`report.column.${column}`)))}
${result.discrepancies.map(discrepancyRow).join('\n')}</table>`
}
${omitted}
<div class="sign"><p>${escapeHtml(text('report.signoff'))}</p></div>
</body></html>
`;
}

export async function writeReport(file: string, result: VerifyResult, generatedAt = new Date()): Promise<void> {
  await writeFileAtomically(file, renderReport(result, generatedAt));
}
