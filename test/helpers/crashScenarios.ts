/*
 * The exactly-once promise under SIGKILL, shared by test/nuts/crash-<n>.nut.ts. A two-wave insert
 * migration (with rows failing UNABLE_TO_LOCK_ROW, so retry rounds happen too) is killed at a chosen
 * point of the journal protocol — right after each kind of journal line, in the middle of an
 * upload, after a poll, in the middle of saving results, after writing a result file the counts prove
 * empty, between waves — then resumed (sometimes killed again), and resumed to the end. The org must
 * then hold every source record exactly once, and the run's result files must account for every
 * record. The scenarios are cut into parts, one per NUT file, so the parts run in parallel, each
 * against an org of its own.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { APPENDED } from '../../src/engine/crashPoints.js';
import { useNutSession, type CliExit, type NutSession } from './localOrg.js';

const RECORDS = 120;
const PER_JOB = 40;

type KillPoint = [point: string, nth: number];

/**
 * A journal tail lost after the first kill (a disk that acknowledged an fsync it did not keep),
 * cut around the job of the last `job.closed` line, whose job the org has closed: `created` keeps
 * its `job.created` line (resume must bring the chunk forward), `index` drops it too (resume must
 * adopt the job from the job index). The lines of other chunks after the cut go with it.
 */
type JournalCut = 'created' | 'index';

/**
 * 'source': the first run appends a line to accounts.csv (SF_MIGRATE_TEST_APPEND) once its last
 * Account chunk is planned, before any job exists, so the first Account upload no longer reads as
 * fingerprinted and is refused; the scenario checks that resume refuses the changed file, puts it
 * back, and resumes. (Not later: a step uploads its next job while the org processes the last, so
 * by the first close every Account chunk may already be read, and nothing would be refused.)
 */
type SourceChange = 'source';

/**
 * 'self': each Contact reports to the next one of the same file (`ReportsTo.Legacy_Id__c`), so the
 * Contact step runs in two passes (src/prepare/selfReferences.ts) and the second pass, Contact.self,
 * goes through the row pass; the scenario kills the run in and around that pass, and checks every
 * Contact's ReportsTo at the end as well.
 */
type SelfReferences = 'self';

/**
 * 'upsert': the Account step is an upsert on Legacy_Id__c, so each of its chunks first saves a
 * before image (engine/beforeImages.ts: a query job into before/Account/<chunk>.csv, then its
 * `before.saved` line); the kill points fall inside that capture.
 */
type BeforeImages = 'upsert';

/**
 * 'lookup': each Account names its record type by DeveloperName and each Contact its owner by
 * e-mail (src/lookup/), against record types and users the scenario creates through the REST API,
 * so each step's lookup snapshot is queried, written and journaled (`lookup.written`, then
 * `lookup.snapshot`: the Accounts' first, then the Contacts'). The scenario kills the run around
 * them; once a snapshot is journaled it renames the org's records, so a resume that queried again
 * instead of resolving from the journaled snapshot would resolve nothing. At the end every
 * record's RecordTypeId or OwnerId must be the one its key named when the scenario began.
 */
type Lookups = 'lookup';

/** where the first run changes accounts.csv (see SourceChange) */
const SOURCE_CHANGE_AT: KillPoint = ['chunk.planned', RECORDS / PER_JOB];

/**
 * [point, nth] for the first run, optionally for the first resume, and a journal cut between them
 * (or a source changed during the first run)
 */
export const crashScenarios: ReadonlyArray<
  [KillPoint, KillPoint?, (JournalCut | SourceChange | SelfReferences | BeforeImages | Lookups)?]
> = [
  [['run.folder', 1]],
  [
    ['run.folder', 1],
    ['run.started', 1],
  ],
  [['run.started', 1]],
  [['wave.started', 1]],
  [['step.started', 1]],
  [['chunk.planned', 1]],
  [['chunk.planned', 3]],
  [['job.creating', 1]],
  [
    ['job.creating', 3],
    ['job.created', 1],
  ],
  [['job.created', 1]],
  [
    ['job.created', 2],
    ['upload.middle', 1],
  ],
  [['upload.middle', 1]],
  [
    ['upload.middle', 3],
    ['job.uploaded', 1],
  ],
  [['job.uploaded', 1]],
  [['job.uploaded', 3]],
  [['job.closing', 1]],
  [
    ['job.closing', 2],
    ['job.closed', 1],
  ],
  [['job.closed', 1]],
  [['job.closed', 3]],
  [['poll', 1]],
  [
    ['poll', 4],
    ['poll', 2],
  ],
  [['job.finished', 1]],
  [
    ['job.finished', 3],
    ['results.middle', 1],
  ],
  [['results.middle', 1]],
  [['results.middle', 3]],
  // a result file the job's counts prove empty written locally, results.saved not yet journaled
  [['results.synthesised', 1]],
  [
    ['results.synthesised', 3],
    ['results.synthesised', 1],
  ],
  [['results.saved', 1]],
  [
    ['results.saved', 3],
    ['job.deleted', 1],
  ],
  [['job.deleted', 1]],
  [['job.deleted', 3]],
  [['step.finished', 1]],
  [['wave.finished', 1]],
  [
    ['wave.started', 2],
    ['step.started', 1],
  ],
  [
    ['step.started', 2],
    ['job.created', 2],
  ],
  [['step.finished', 2]],
  [['run.finished', 1]],
  // resume's reconciliation of a cut journal, killed in the middle of the lines it writes
  [['job.closed', 1], ['reconcile', 2], 'created'],
  [['job.closed', 3], ['reconcile', 2], 'index'],
  // a chunk refused before upload (its source changed after planning), killed before its abort
  [['upload.refused', 1], undefined, 'source'],
  // lock-aware jobs (Contact has one relationship column): the derived files written, their
  // journal line not yet; then killed right after that line, and after it in a resume
  [['partition.written', 1]],
  [['source.partitioned', 1]],
  [
    ['partition.written', 1],
    ['source.partitioned', 1],
  ],
  // the second pass of a self-reference: its files written, their journal line not yet; then
  // killed right after that line, and after it in a resume
  [['prepare.written', 1], undefined, 'self'],
  [['source.prepared', 1], undefined, 'self'],
  [['prepare.written', 1], ['source.prepared', 1], 'self'],
  // before images of an upsert step: after a piece's query, after the image is durable but not
  // journaled, after its line; and killed again in the resume's capture
  [['before.piece', 2], undefined, 'upsert'],
  [['before.written', 1], undefined, 'upsert'],
  [['before.saved', 2], undefined, 'upsert'],
  [['before.written', 2], ['before.written', 1], 'upsert'],
  // lookup snapshots: the Accounts' file written, not journaled; its line journaled; the Contacts'
  // file written, then a resume killed right after the Contacts' line (the Accounts' is known)
  [['lookup.written', 1], undefined, 'lookup'],
  [['lookup.snapshot', 1], undefined, 'lookup'],
  [['lookup.written', 2], ['lookup.snapshot', 1], 'lookup'],
  [['lookup.snapshot', 2], undefined, 'lookup'],
];

function journalOf(dir: string): string {
  const runs = join(dir, '.sf-migrate', 'runs');
  return join(runs, readdirSync(runs).filter((name) => !name.startsWith('.'))[0], 'journal.jsonl');
}

/** the event types of the journal of the (only) run under `dir` */
function journalTypes(dir: string): string[] {
  return readFileSync(journalOf(dir), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => (JSON.parse(line) as { type: string }).type);
}

/** cuts the journal of the (only) run under `dir` as `cut` says */
function cutJournal(dir: string, cut: JournalCut): void {
  const journal = journalOf(dir);
  const lines = readFileSync(journal, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  const events = lines.map((line) => JSON.parse(line) as { type: string; jobId?: string });
  const closed = events.map((event) => event.type).lastIndexOf('job.closed');
  const jobId = events[closed]?.jobId;
  const created = events.findIndex((event) => event.type === 'job.created' && event.jobId === jobId);
  expect(created, `a job.created line for ${String(jobId)}`).to.be.greaterThan(-1);
  const keep = cut === 'created' ? created + 1 : created;
  writeFileSync(
    journal,
    lines
      .slice(0, keep)
      .map((line) => `${line}\n`)
      .join(''),
  );
}

/** how many NUT files the scenarios are spread over (test/nuts/crash-1.nut.ts … crash-<PARTS>.nut.ts) */
export const CRASH_PARTS = 4;

/** the record types and users of the 'lookup' scenarios: RECORD_TYPES and OWNERS of each, cycled through */
const RECORD_TYPES = 2;
const OWNERS = 3;
const recordTypeName = (prefix: string, i: number): string => `${prefix}_Type_${i % RECORD_TYPES}`;
const ownerEmail = (prefix: string, i: number): string => `${prefix.toLowerCase()}-owner-${i % OWNERS}@crash.example`;

function prepare(nut: NutSession, prefix: string, variant?: SelfReferences | BeforeImages | Lookups): string {
  const self = variant === 'self';
  const upsert = variant === 'upsert';
  const lookups = variant === 'lookup';
  const dir = nut.testDir;
  const accounts = [`Name,Legacy_Id__c${lookups ? ',RecordTypeName' : ''}`];
  const contacts = [
    `LastName,Legacy_Id__c,Account.Legacy_Id__c${self ? ',ReportsTo.Legacy_Id__c' : ''}${lookups ? ',OwnerEmail' : ''}`,
  ];
  for (let i = 0; i < RECORDS; i++) {
    accounts.push(`"${prefix} Account ${i}, Ltd.",${prefix}-A-${i}${lookups ? `,${recordTypeName(prefix, i)}` : ''}`);
    const reportsTo = !self ? '' : i + 1 < RECORDS ? `,${prefix}-C-${i + 1}` : ',';
    const owner = lookups ? `,${ownerEmail(prefix, i)}` : '';
    contacts.push(`${prefix} Contact ${i},${prefix}-C-${i},${prefix}-A-${i}${reportsTo}${owner}`);
  }
  writeFileSync(join(dir, 'accounts.csv'), accounts.join('\n') + '\n');
  writeFileSync(join(dir, 'contacts.csv'), contacts.join('\r\n') + '\r\n');
  const manifest = join(dir, 'migration.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      name: prefix,
      defaults: {
        maxRecordsPerJob: PER_JOB,
        poll: { initial: '50ms', max: '100ms' },
        parallelism: 2,
        retry: { attempts: 6 },
      },
      steps: [
        {
          object: 'Account',
          source: 'accounts.csv',
          ...(upsert ? { operation: 'upsert', externalIdField: 'Legacy_Id__c' } : {}),
          ...(lookups ? { lookups: [{ column: 'RecordTypeName', recordType: 'DeveloperName' }] } : {}),
        },
        {
          object: 'Contact',
          source: 'contacts.csv',
          lineEnding: 'CRLF',
          ...(lookups ? { lookups: [{ column: 'OwnerEmail', user: 'Email' }] } : {}),
        },
      ],
    }),
  );
  return manifest;
}

/**
 * One REST call to the org as its admin; the parsed body, or undefined for 204. The org's injected
 * UNABLE_TO_LOCK_ROW faults hit these calls too; such a call wrote nothing, so it is made again.
 */
async function rest(nut: NutSession, method: string, path: string, body: object, attempt = 1): Promise<unknown> {
  const response = await fetch(`${nut.org.instanceUrl}/services/data/v62.0/${path}`, {
    method,
    headers: { Authorization: `Bearer ${nut.org.accessToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && text.includes('UNABLE_TO_LOCK_ROW') && attempt < 10) {
    return rest(nut, method, path, body, attempt + 1);
  }
  expect(response.ok, `${method} ${path}: ${text}`).to.equal(true);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** the lookups' targets of a 'lookup' scenario (see Lookups), by key: the Ids its keys must resolve to */
type LookupTargets = { recordTypes: Map<string, string>; owners: Map<string, string> };

async function createLookupTargets(nut: NutSession, prefix: string): Promise<LookupTargets> {
  const targets: LookupTargets = { recordTypes: new Map(), owners: new Map() };
  for (let i = 0; i < RECORD_TYPES; i++) {
    const name = recordTypeName(prefix, i);
    // eslint-disable-next-line no-await-in-loop -- a few records, in order
    const created = (await rest(nut, 'POST', 'sobjects/RecordType', {
      Name: name,
      DeveloperName: name,
      SobjectType: 'Account',
      IsActive: true,
    })) as { id: string };
    targets.recordTypes.set(name, created.id);
  }
  for (let i = 0; i < OWNERS; i++) {
    const email = ownerEmail(prefix, i);
    // eslint-disable-next-line no-await-in-loop -- a few records, in order
    const created = (await rest(nut, 'POST', 'sobjects/User', {
      Username: email,
      LastName: `Owner ${i}`,
      Email: email,
      Alias: `own${i}`,
      TimeZoneSidKey: 'GMT',
    })) as { id: string };
    targets.owners.set(email, created.id);
  }
  return targets;
}

/**
 * Once a snapshot is journaled, the org's record its first key names no longer matches that key:
 * a resume that resolved from the org instead of the snapshot would fail the rows of that key.
 * Returns how many snapshots were journaled (each of the two lookups is renamed once).
 */
async function renameSnapshotted(nut: NutSession, targets: LookupTargets, renamed: number): Promise<number> {
  const journaled = journalTypes(nut.testDir).filter((type) => type === 'lookup.snapshot').length;
  if (journaled >= 1 && renamed < 1) {
    const [name, id] = [...targets.recordTypes][0];
    await rest(nut, 'PATCH', `sobjects/RecordType/${id}`, { DeveloperName: `${name}_Renamed` });
  }
  if (journaled >= 2 && renamed < 2) {
    const [email, id] = [...targets.owners][0];
    await rest(nut, 'PATCH', `sobjects/User/${id}`, { Email: `renamed.${email}` });
  }
  return Math.max(journaled, renamed);
}

/** every record's RecordTypeId or OwnerId is the one its key named when the scenario began */
function assertResolved(nut: NutSession, prefix: string, targets: LookupTargets, runDir: string): void {
  for (const [object, field, tag, keyOf, ids] of [
    ['Account', 'RecordTypeId', 'A', recordTypeName, targets.recordTypes],
    ['Contact', 'OwnerId', 'C', ownerEmail, targets.owners],
  ] as const) {
    const records = nut.org.store.records(object).filter((r) => String(r.Legacy_Id__c).startsWith(`${prefix}-${tag}-`));
    expect(records, `${object} records`).to.have.length(RECORDS);
    for (const record of records) {
      const i = Number(String(record.Legacy_Id__c).slice(`${prefix}-${tag}-`.length));
      expect(record[field], `${field} of ${String(record.Legacy_Id__c)}`).to.equal(ids.get(keyOf(prefix, i)));
    }
  }
  // one snapshot per lookup, fetched once: a snapshot written but not journaled was fetched again
  const snapshots = readFileSync(join(runDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('"lookup.snapshot"'));
  expect(snapshots, 'lookup.snapshot lines').to.have.length(2);
}

/** every Contact reports to the next one (see SelfReferences) */
function assertReportsTo(nut: NutSession, prefix: string): void {
  const contacts = nut.org.store.records('Contact').filter((r) => String(r.Legacy_Id__c).startsWith(`${prefix}-C-`));
  const idOf = new Map(contacts.map((record) => [String(record.Legacy_Id__c), record.Id]));
  for (const record of contacts) {
    const next = Number(String(record.Legacy_Id__c).slice(`${prefix}-C-`.length)) + 1;
    const expected = next < RECORDS ? idOf.get(`${prefix}-C-${next}`) : undefined;
    expect(record.ReportsToId ?? undefined, `ReportsTo of ${String(record.Legacy_Id__c)}`).to.equal(expected);
  }
}

function assertExactlyOnce(nut: NutSession, prefix: string, runDir: string): void {
  for (const [object, tag] of [
    ['Account', 'A'],
    ['Contact', 'C'],
  ] as const) {
    const ids = nut.org.store
      .records(object)
      .map((record) => String(record.Legacy_Id__c))
      .filter((id) => id.startsWith(`${prefix}-${tag}-`));
    expect(ids, `${object} records`).to.have.length(RECORDS);
    expect(new Set(ids).size, `${object} distinct`).to.equal(RECORDS);
    // the saved success results name every record exactly once too
    const dir = join(runDir, 'results', object);
    const succeeded = readdirSync(dir)
      .filter((name) => name.endsWith('-success.csv'))
      .flatMap((name) => readFileSync(join(dir, name), 'utf8').split(/\r?\n/).slice(1))
      .filter((line) => line.length > 0)
      .map((line) => new RegExp(`${prefix}-${tag}-\\d+`).exec(line)?.[0]);
    expect(succeeded, `${object} success rows`).to.have.length(RECORDS);
    expect(new Set(succeeded).size, `${object} success rows distinct`).to.equal(RECORDS);
  }
}

/** the describe block of part `part` (1-based) of CRASH_PARTS: every CRASH_PARTS-th scenario */
export function describeCrashScenarios(part: number): void {
  describe(`crash and resume, part ${part} of ${CRASH_PARTS}: every record lands exactly once`, function () {
    this.timeout(15 * 60_000);
    const nut = useNutSession(`crash-${part}`);
    before(() => nut.org.faults.set({ seed: 10 + part, lockRowRate: 0.05 }));

    /** the CLI with --json, killing itself at `crash` when given (SF_MIGRATE_TEST_CRASH) */
    const cli = (args: string[], crash?: KillPoint, env: Record<string, string> = {}): Promise<CliExit> =>
      nut.spawn([...args, '--json'], {
        env: { ...env, ...(crash ? { SF_MIGRATE_TEST_CRASH: `${crash[0]}:${crash[1]}` } : {}) },
      }).exit;

    if (part === 1) {
      it(`the parts together keep every kill point (${crashScenarios.length})`, () => {
        expect(crashScenarios.length).to.be.at.least(38);
      });
    }

    for (const [index, [first, second, cut]] of crashScenarios.entries()) {
      // interleaved, so the slow scenarios (late kill points) spread over the parts
      if (index % CRASH_PARTS !== part - 1) continue;
      const label =
        cut === 'self' || cut === 'lookup'
          ? `${[first, second]
              .filter((point): point is KillPoint => point !== undefined)
              .map(([point, nth]) => `${point}#${nth}`)
              .join(' then ')} (${
              cut === 'self'
                ? 'contacts reporting to contacts: the second pass'
                : 'record types and owners by lookup, renamed in the org once snapshotted'
            })`
          : cut === 'source'
            ? `${first[0]}#${first[1]} (accounts.csv grew at ${SOURCE_CHANGE_AT.join('#')}), then the file put back`
            : [first, second]
                .filter((point): point is KillPoint => point !== undefined)
                .map(([point, nth]) => `${point}#${nth}`)
                .join(
                  cut && cut !== 'upsert'
                    ? ` then the journal cut back to ${cut === 'created' ? 'job.created' : 'before job.created'}, then `
                    : ' then ',
                ) + (cut === 'upsert' ? ' (Account upserted: before images)' : '');
      it(`killed at ${label}`, async () => {
        const prefix = `K${index}`;
        const manifest = prepare(nut, prefix, cut === 'self' || cut === 'upsert' || cut === 'lookup' ? cut : undefined);
        const targets = cut === 'lookup' ? await createLookupTargets(nut, prefix) : undefined;
        let renamed = 0;
        const target = ['--manifest', manifest, '--target-org', 'local'];
        const accounts = join(nut.testDir, 'accounts.csv');
        const original = readFileSync(accounts);
        const append: Record<string, string> =
          cut === 'source' ? { SF_MIGRATE_TEST_APPEND: `${SOURCE_CHANGE_AT.join(':')}:${accounts}` } : {};
        const killed = await cli(['migrate', 'run', ...target], first, append);
        expect(killed.signal, `first run should be killed at ${label}: ${killed.stdout}${killed.stderr}`).to.equal(
          'SIGKILL',
        );
        if (cut === 'source') {
          expect(readFileSync(accounts).length, 'accounts.csv grew').to.be.greaterThan(original.length);
          // killed between the refused upload and its abort: the journal has no job.aborted yet
          expect(journalTypes(nut.testDir)).to.include('job.created').and.not.include('job.aborted');
          // the tool refuses the changed file and says to put it back, then resume
          const refused = await cli(['migrate', 'resume', ...target]);
          const error = JSON.parse(refused.stdout) as { name: string; actions?: string[] };
          expect(error.name, refused.stdout + refused.stderr).to.equal('SourcesChangedError');
          expect(error.actions?.[0]).to.contain('sf migrate resume');
          writeFileSync(accounts, original);
        } else if (cut === 'created' || cut === 'index') cutJournal(nut.testDir, cut);
        if (targets) renamed = await renameSnapshotted(nut, targets, renamed);
        if (second) {
          const again = await cli(['migrate', 'resume', ...target], second);
          expect(again.signal, `resume should be killed at ${label}: ${again.stdout}${again.stderr}`).to.equal(
            'SIGKILL',
          );
          if (targets) renamed = await renameSnapshotted(nut, targets, renamed);
        }
        const resumed = await cli(['migrate', 'resume', ...target]);
        let runDir: string;
        if (first[0] === 'run.finished') {
          // nothing left to do: no unfinished run, and resuming the run by id says it is finished
          expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(1);
          expect((JSON.parse(resumed.stdout) as { name: string }).name).to.equal('NoUnfinishedRunError');
          const runs = join(nut.testDir, '.sf-migrate', 'runs');
          const [runId] = readdirSync(runs);
          runDir = join(runs, runId);
          const byId = await cli(['migrate', 'resume', ...target, '--run-id', runId]);
          expect((JSON.parse(byId.stdout) as { name: string }).name).to.equal('RunAlreadyFinishedError');
        } else {
          expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(0);
          const result = JSON.parse(resumed.stdout) as { result: { status: string; runDir: string } };
          expect(result.result.status).to.equal('succeeded');
          runDir = result.result.runDir;
        }
        assertExactlyOnce(nut, prefix, runDir);
        if (cut === 'self') assertReportsTo(nut, prefix);
        if (cut === 'upsert') {
          // one before image per Account chunk, journaled once each, whatever the kills
          const saved = journalTypes(nut.testDir).filter((type) => type === 'before.saved');
          expect(saved, 'before.saved lines').to.have.length(RECORDS / PER_JOB);
        }
        if (targets) assertResolved(nut, prefix, targets, runDir);
        // the org's records were renamed before the last resume whenever a kill came after a snapshot line
        if (targets && (first[0] === 'lookup.snapshot' || second)) expect(renamed, 'renamed').to.be.at.least(1);
        if (cut === 'source') {
          const appended = nut.org.store.records('Account').filter((record) => record.Name === APPENDED);
          expect(appended, 'the line appended during the run').to.deep.equal([]);
        }
      });
    }
  });
}
