/*
 * Writes the example migration's data: Accounts, Contacts and Opportunities of a fictional legacy
 * CRM, linked through Legacy_Id__c external ids, plus the Account parent links loaded in a later
 * wave. Deterministic (seeded), and streamed to disk, so a million records cost no more memory than
 * ten. The small CSVs committed under examples/legacy-crm/data come from this script too.
 *
 *   node --import tsx scripts/generate-example-data.ts --out examples/legacy-crm/generated \
 *     --accounts 20000 --contacts 50000 --opportunities 40000
 *
 * Options: --seed (default 20240229), --contacts-per-file (default 50000: contacts go to
 * contacts-001.csv, contacts-002.csv… to show a glob source), --no-manifest (write only the CSVs).
 * Unless --no-manifest, <out>/migration.json is written next to the CSVs.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** mulberry32: tiny, fast, and the same sequence on every machine for a given seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d_2b_79_f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// prettier-ignore
const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Amelia', 'Oliver', 'Sophia', 'Elijah', 'Mia', 'Lucas', 'Charlotte', 'Mateo',
  'Ava', 'Hiroshi', 'Priya', 'Chen', 'Fatima', 'Björn', 'Zoë', 'José', 'Aoife', 'Siobhán', 'Kwame', 'Ngozi',
  'Anders', 'Ingrid', 'Rafael', 'Lucía', 'Dmitri', 'Anaïs', 'Yusuf', 'Amara', 'Wei', 'Sakura', 'Mohammed', 'Léa',
];
// prettier-ignore
const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Nguyen', 'Kim',
  "O'Brien", 'Müller', 'Schmidt', 'Rossi', 'Dubois', 'Kowalski', 'Tanaka', 'Okafor', 'Patel', 'Singh', 'Haddad',
  'Andersson', 'Fernández', 'van der Berg', 'Ivanova', 'Mensah', 'Lindqvist', 'Moreau', 'Costa', 'Novak', 'Byrne',
];
// prettier-ignore
const COMPANY_WORDS = [
  'Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent', 'Hooli',
  'Vandelay', 'Massive', 'Dynamic', 'Blue Harbor', 'Northwind', 'Contoso', 'Fabrikam', 'Litware', 'Tailspin',
  'Pinnacle', 'Summit', 'Evergreen', 'Silverline', 'Redwood', 'Granite', 'Lakeside', 'Brightwater', 'Ironclad',
];
// prettier-ignore
const COMPANY_SUFFIXES = ['Inc.', 'LLC', 'Ltd', 'GmbH', 'S.A.', 'Group', 'Holdings', 'Industries', 'Partners', 'Co.'];
// prettier-ignore
const CITIES: Array<[string, string, string]> = [
  ['San Francisco', 'CA', 'United States'], ['New York', 'NY', 'United States'], ['Austin', 'TX', 'United States'],
  ['Chicago', 'IL', 'United States'], ['Toronto', 'ON', 'Canada'], ['London', '', 'United Kingdom'],
  ['Dublin', '', 'Ireland'], ['Paris', '', 'France'], ['München', 'BY', 'Germany'], ['Zürich', 'ZH', 'Switzerland'],
  ['São Paulo', 'SP', 'Brazil'], ['Tokyo', '', 'Japan'], ['Sydney', 'NSW', 'Australia'], ['Lagos', '', 'Nigeria'],
  ['Stockholm', '', 'Sweden'], ['Madrid', '', 'Spain'], ['Singapore', '', 'Singapore'], ['Bengaluru', 'KA', 'India'],
];
// prettier-ignore
const STREETS = ['Market St', 'Main Street', 'Harbour Road', 'King Street West', 'Rue de Rivoli', 'Bahnhofstrasse', 'Elm Avenue', 'Queen St'];
// prettier-ignore
const ACCOUNT_TYPES = ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other'];
// prettier-ignore
const INDUSTRIES = ['Banking', 'Construction', 'Education', 'Electronics', 'Energy', 'Finance', 'Healthcare', 'Manufacturing', 'Retail', 'Technology'];
const RATINGS = ['Hot', 'Warm', 'Cold', ''];
const SALUTATIONS = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.', ''];
const TITLES = [
  'CEO',
  'CFO',
  'VP Sales',
  'Head of IT',
  'Procurement Manager',
  'Operations Director',
  'Buyer',
  'Engineer, R&D',
];
// prettier-ignore
const STAGES = ['Prospecting', 'Qualification', 'Needs Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost'];
// prettier-ignore
const PROBABILITY: Record<string, number> = {
  Prospecting: 10, Qualification: 20, 'Needs Analysis': 30, 'Proposal/Price Quote': 60, 'Negotiation/Review': 80, 'Closed Won': 100, 'Closed Lost': 0,
};
const DEAL_KINDS = ['Renewal', 'Expansion', 'New Business', 'Pilot', 'Services', 'Upgrade'];
const LEGACY_SYSTEMS = ['SiebelCRM', 'GoldMine', 'ACT!', 'homegrown'];
const SALES_REPS = ['j.doe', 'a.khan', 'm.rossi', 'l.chen'];

// prettier-ignore
export const ACCOUNT_COLUMNS = [
  'Legacy_Id__c', 'Name', 'Type', 'Industry', 'Rating', 'Phone', 'Website', 'BillingStreet', 'BillingCity',
  'BillingState', 'BillingPostalCode', 'BillingCountry', 'AnnualRevenue', 'NumberOfEmployees', 'Description',
];
// prettier-ignore
export const CONTACT_COLUMNS = [
  'Legacy_Id__c', 'Salutation', 'FirstName', 'LastName', 'Title', 'Email', 'Phone', 'Birthdate', 'MailingCity',
  'MailingCountry', 'Account.Legacy_Id__c', 'Notes', 'Legacy_System',
];
// prettier-ignore
export const OPPORTUNITY_COLUMNS = [
  'Legacy_Id__c', 'Name', 'Account.Legacy_Id__c', 'StageName', 'CloseDate', 'Amount', 'Probability', 'Description', 'Sales_Rep',
];
export const ACCOUNT_PARENT_COLUMNS = ['Legacy_Id__c', 'Parent.Legacy_Id__c'];

/** RFC 4180: quote a value holding the delimiter, a quote or a line break; double its quotes. */
function csvValue(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Appends CSV records to a file, waiting for the disk whenever the stream's buffer is full. */
class CsvFileWriter {
  public records = 0;
  private readonly stream: WriteStream;

  public constructor(
    public readonly file: string,
    columns: string[],
  ) {
    this.stream = createWriteStream(file);
    this.stream.write(`${columns.map(csvValue).join(',')}\n`);
  }

  public async write(values: Array<string | number>): Promise<void> {
    this.records++;
    if (!this.stream.write(`${values.map(csvValue).join(',')}\n`)) await once(this.stream, 'drain');
  }

  public async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

export type GenerateOptions = {
  out: string;
  accounts: number;
  contacts: number;
  opportunities: number;
  seed: number;
  contactsPerFile: number;
  manifest: boolean;
};

export type GeneratedFiles = { files: Array<{ file: string; records: number }>; manifest?: string; records: number };

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export async function generateExampleData(options: GenerateOptions): Promise<GeneratedFiles> {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const integer = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const date = (fromYear: number, toYear: number): string =>
    `${integer(fromYear, toYear)}-${pad(integer(1, 12), 2)}-${pad(integer(1, 28), 2)}`;
  const accountId = (i: number): string => `ACC-${pad(i, 7)}`;
  const slug = (text: string): string =>
    text
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z0-9]+/g, '');
  const phone = (): string => `+1 ${integer(201, 989)} 555 ${pad(integer(0, 9999), 4)}`;

  mkdirSync(options.out, { recursive: true });
  const outputs: CsvFileWriter[] = [];
  const open = (name: string, columns: string[]): CsvFileWriter => {
    const writer = new CsvFileWriter(join(options.out, name), columns);
    outputs.push(writer);
    return writer;
  };

  // Account names come from their number alone, so an opportunity can name its account without
  // the generator keeping every name in memory.
  const companyName = (i: number): string => {
    const own = seededRandom(options.seed ^ Math.imul(i, 0x9e_37_79_b1));
    const from = <T>(items: readonly T[]): T => items[Math.floor(own() * items.length)];
    const roll = own();
    if (roll < 0.08) return `${from(LAST_NAMES)}, ${from(LAST_NAMES)} & ${from(['Partners', 'Associates', 'Sons'])}`;
    const word = from(COMPANY_WORDS);
    if (roll < 0.12) return `${word} "${from(['Blue', 'Red', 'Prime', 'North'])}" ${from(COMPANY_SUFFIXES)}`;
    return `${word} ${from(['Systems', 'Foods', 'Logistics', 'Energy', 'Capital', 'Labs', 'Health', 'Media'])} ${from(COMPANY_SUFFIXES)}`;
  };

  // Accounts: names with commas and quotes, street addresses over two lines, multi-line notes.
  const accounts = open('accounts.csv', ACCOUNT_COLUMNS);
  const parents = open('account-parents.csv', ACCOUNT_PARENT_COLUMNS);
  for (let i = 1; i <= options.accounts; i++) {
    const name = companyName(i);
    const word = name.split(/[ ,]/)[0];
    const [city, state, country] = pick(CITIES);
    const street =
      random() < 0.2
        ? `${integer(1, 999)} ${pick(STREETS)}\nSuite ${integer(100, 990)}`
        : `${integer(1, 999)} ${pick(STREETS)}`;
    const description =
      random() < 0.15
        ? `Migrated from ${pick(LEGACY_SYSTEMS)}.\nKey contact prefers email, not phone.`
        : random() < 0.1
          ? `Known internally as "${word}", tier ${integer(1, 3)}`
          : '';
    // eslint-disable-next-line no-await-in-loop -- one record at a time keeps memory flat
    await accounts.write([
      accountId(i),
      name,
      pick(ACCOUNT_TYPES),
      pick(INDUSTRIES),
      pick(RATINGS),
      phone(),
      `https://www.${slug(word)}${i}.example.com`,
      street,
      city,
      state,
      pad(integer(1000, 99_999), 5),
      country,
      integer(1, 5000) * 10_000,
      integer(1, 20_000),
      description,
    ]);
    // about one account in seven belongs to a group: its parent is an earlier account (no cycles)
    // eslint-disable-next-line no-await-in-loop
    if (i > 10 && random() < 0.15) await parents.write([accountId(i), accountId(integer(1, i - 1))]);
  }

  const contactFiles = Math.max(1, Math.ceil(options.contacts / options.contactsPerFile));
  for (let f = 1; f <= contactFiles; f++) {
    const contacts = open(`contacts-${pad(f, 3)}.csv`, CONTACT_COLUMNS);
    const last = Math.min(options.contacts, f * options.contactsPerFile);
    for (let i = (f - 1) * options.contactsPerFile + 1; i <= last; i++) {
      const first = pick(FIRST_NAMES);
      const lastName = pick(LAST_NAMES);
      const [city, , country] = pick(CITIES);
      const notes =
        random() < 0.1
          ? `Met at ${city} trade fair.\nFollow up about "renewal, phase 2".`
          : random() < 0.1
            ? 'Prefers calls, after 3pm'
            : '';
      // eslint-disable-next-line no-await-in-loop
      await contacts.write([
        `CON-${pad(i, 8)}`,
        pick(SALUTATIONS),
        first,
        lastName,
        pick(TITLES),
        `${slug(first)}.${slug(lastName)}.${i}@example.com`,
        phone(),
        date(1955, 2000),
        city,
        country,
        accountId(integer(1, options.accounts)),
        notes,
        pick(LEGACY_SYSTEMS),
      ]);
    }
  }

  const opportunities = open('opportunities.csv', OPPORTUNITY_COLUMNS);
  for (let i = 1; i <= options.opportunities; i++) {
    const account = integer(1, options.accounts);
    const stage = pick(STAGES);
    const description =
      random() < 0.1
        ? `Scope: ${integer(5, 500)} seats, ${pick(DEAL_KINDS).toLowerCase()}.\nSigned by "${pick(LAST_NAMES)}".`
        : '';
    // eslint-disable-next-line no-await-in-loop
    await opportunities.write([
      `OPP-${pad(i, 8)}`,
      `${companyName(account)} – ${pick(DEAL_KINDS)} ${integer(2024, 2026)}`,
      accountId(account),
      stage,
      date(2024, 2026),
      (integer(10, 50_000) * 100).toFixed(2),
      PROBABILITY[stage],
      description,
      pick(SALES_REPS),
    ]);
  }

  await Promise.all(outputs.map((writer) => writer.close()));
  const files = outputs.map((writer) => ({ file: writer.file, records: writer.records }));
  const result: GeneratedFiles = { files, records: files.reduce((total, file) => total + file.records, 0) };
  if (options.manifest) {
    result.manifest = join(options.out, 'migration.json');
    writeFileSync(result.manifest, `${JSON.stringify(exampleManifest(options.out, '.'), null, 2)}\n`);
  }
  return result;
}

/**
 * The example's manifest, with sources under `dataDir` (relative to the manifest) and its $schema
 * pointing at the repository's schemas folder from wherever the manifest sits. The committed small
 * example sets `contactsPerJob` low so that even its few hundred contacts show a step cut into jobs.
 */
export function exampleManifest(
  manifestDir: string,
  dataDir: string,
  contactsPerJob?: number,
): Record<string, unknown> {
  const schema = relative(resolve(manifestDir), resolve(import.meta.dirname, '..', 'schemas', 'manifest.schema.json'));
  const source = (name: string): string => (dataDir === '.' ? name : `${dataDir}/${name}`);
  return {
    $schema: schema.split('\\').join('/'),
    name: 'legacy-crm-cutover',
    description:
      'Accounts, Contacts and Opportunities of the legacy CRM, linked by Legacy_Id__c. Account parents are set last, once no other load holds locks on Accounts.',
    defaults: {
      operation: 'upsert',
      externalIdField: 'Legacy_Id__c',
      maxRecordsPerJob: 10_000,
      poll: { initial: '1s', max: '30s' },
      failureThreshold: { percent: 0 },
    },
    steps: [
      { id: 'accounts', object: 'Account', source: source('accounts.csv') },
      {
        id: 'contacts',
        object: 'Contact',
        source: source('contacts-*.csv'),
        ...(contactsPerJob ? { maxRecordsPerJob: contactsPerJob } : {}),
        mapping: { rename: { Notes: 'Description' }, drop: ['Legacy_System'] },
      },
      {
        id: 'opportunities',
        object: 'Opportunity',
        operation: 'insert',
        source: source('opportunities.csv'),
        mapping: { drop: ['Sales_Rep'] },
      },
      {
        id: 'account-parents',
        object: 'Account',
        source: source('account-parents.csv'),
        dependsOn: ['contacts', 'opportunities'],
      },
    ],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      accounts: { type: 'string', default: '20000' },
      contacts: { type: 'string', default: '50000' },
      opportunities: { type: 'string', default: '40000' },
      seed: { type: 'string', default: '20240229' },
      'contacts-per-file': { type: 'string', default: '50000' },
      'no-manifest': { type: 'boolean', default: false },
    },
  });
  if (!values.out) throw new Error('--out <folder> is required');
  const count = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, not ${text}`);
    return n;
  };
  const started = Date.now();
  const result = await generateExampleData({
    out: resolve(values.out),
    accounts: count('accounts', values.accounts, 1),
    contacts: count('contacts', values.contacts, 0),
    opportunities: count('opportunities', values.opportunities, 0),
    seed: count('seed', values.seed, 0),
    contactsPerFile: count('contacts-per-file', values['contacts-per-file'], 1),
    manifest: !values['no-manifest'],
  });
  for (const { file, records } of result.files)
    process.stdout.write(`${records.toLocaleString('en-US').padStart(12)}  ${file}\n`);
  process.stdout.write(
    `${result.records.toLocaleString('en-US').padStart(12)}  records in ${((Date.now() - started) / 1000).toFixed(1)} s${
      result.manifest ? `; manifest ${result.manifest}` : ''
    }\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  await main();
}
