/*
 * The partition pass of lock-aware jobs: every row comes out exactly once, each parent's rows sit in
 * one bin of one grouped file (so the org's cut every `binRecords` rows never splits a parent), a
 * parent bigger than a bin goes to serial files of at most one bin, and the spill path (a memory
 * budget smaller than the data) gives the same grouping as the in-memory path.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { partitionSource, type DerivedFile, type PartitionSettings } from '../../src/engine/partitionPass.js';

const HEADER = 'LastName,Account.Legacy_Id__c';

function settings(overrides: Partial<PartitionSettings> = {}): PartitionSettings {
  return {
    delimiter: 'COMMA',
    lineEnding: 'LF',
    column: 1,
    binRecords: 10,
    maxRecordsPerJob: 30,
    maxBytesPerJob: 100_000_000,
    memoryBytes: 64 * 1024 * 1024,
    maxRecordBytes: 1024 * 1024,
    ...overrides,
  };
}

/** rows per parent: parent `A<k>` gets sizes[k] children; a few rows have no parent */
function rowsOf(sizes: number[], parentless: number): string[] {
  const rows: string[] = [];
  // interleaved, as a real export would hold them
  const left = [...sizes];
  for (let round = 0; left.some((n) => n > 0); round++) {
    left.forEach((n, k) => {
      if (n > 0) {
        rows.push(`c${k}-${round},A${k}`);
        left[k]--;
      }
    });
  }
  for (let k = 0; k < parentless; k++) rows.push(`orphan${k},`);
  return rows;
}

async function read(files: DerivedFile[]): Promise<Array<{ lane: string; header: string; rows: string[] }>> {
  return Promise.all(
    files.map(async ({ file, lane }) => {
      const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
      return { lane, header: lines[0], rows: lines.slice(1) };
    }),
  );
}

const parentOf = (row: string): string => row.split(',')[1];

/** the bins of a grouped file: consecutive runs of binRecords rows, as the org cuts a job */
function bins(rows: string[], binRecords: number): string[][] {
  const out: string[][] = [];
  for (let k = 0; k < rows.length; k += binRecords) out.push(rows.slice(k, k + binRecords));
  return out;
}

describe('partitionSource', () => {
  let dir: string;
  let source: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'partition-'));
    source = join(dir, 'contacts.csv');
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  type Checked = { files: DerivedFile[]; contents: Awaited<ReturnType<typeof read>> };

  async function check(
    sizes: number[],
    parentless: number,
    options: Partial<PartitionSettings> = {},
  ): Promise<Checked> {
    const all = rowsOf(sizes, parentless);
    await writeFile(source, [HEADER, ...all].join('\n')); // no line ending after the last row
    const config = settings(options);
    const files = await partitionSource(source, join(dir, 'out'), config);
    const contents = await read(files);
    const seen = contents.flatMap((content) => content.rows);
    expect([...seen].sort(), 'every row exactly once').to.deep.equal([...all].sort());
    for (const content of contents) expect(content.header).to.equal(HEADER);

    const grouped = contents.filter((content) => content.lane === 'grouped');
    const serial = contents.filter((content) => content.lane === 'serial');
    const homes = new Map<string, Set<string>>();
    grouped.forEach((content, f) => {
      expect(content.rows.length).to.be.at.most(config.maxRecordsPerJob);
      bins(content.rows, config.binRecords).forEach((bin, b) => {
        for (const row of bin) {
          const parent = parentOf(row);
          if (parent === '') continue;
          const home = homes.get(parent) ?? new Set<string>();
          home.add(`${f}/${b}`);
          homes.set(parent, home);
        }
      });
      // contiguous: once a parent's run ends it never comes back in the file
      const finished = new Set<string>();
      let previous: string | undefined;
      for (const row of content.rows) {
        const parent = parentOf(row);
        if (parent !== previous && previous !== undefined) finished.add(previous);
        if (parent !== '') expect(finished.has(parent), `${parent} contiguous`).to.equal(false);
        previous = parent;
      }
    });
    for (const [parent, home] of homes) expect([...home], `${parent} in one bin`).to.have.lengthOf(1);
    for (const content of serial) {
      expect(content.rows.length).to.be.at.most(config.binRecords);
      // a serial file is one parent's, and a parent's serial files are one chain
      expect(new Set(content.rows.map(parentOf)).size).to.equal(1);
    }
    const chainOf = new Map<string, number | undefined>();
    files.forEach((file, k) => {
      if (file.lane !== 'serial') return;
      const parent = parentOf(contents[k].rows[0]);
      if (chainOf.has(parent)) expect(file.chain).to.equal(chainOf.get(parent));
      else {
        expect([...chainOf.values()]).to.not.include(file.chain);
        chainOf.set(parent, file.chain);
      }
    });
    const bigParents = sizes.flatMap((n, k) => (n > config.binRecords ? [`A${k}`] : []));
    const serialParents = new Set(serial.flatMap((content) => content.rows.map(parentOf)));
    expect([...serialParents].sort()).to.deep.equal(bigParents.sort());
    const misplaced = grouped.flatMap((content) => content.rows.map(parentOf)).filter((p) => bigParents.includes(p));
    expect(misplaced).to.deep.equal([]);
    expect((await readdir(join(dir, 'out'))).filter((name) => name.startsWith('.'))).to.deep.equal([]);
    return { files, contents };
  }

  it('groups each parent into one bin and packs bins exactly', async () => {
    const { contents } = await check([7, 3, 5, 5, 4, 6, 2, 8, 1, 1, 9, 1], 0);
    // 52 rows pack into five full bins and one of two rows: two files of 30 and 22 rows
    const grouped = contents.filter((content) => content.lane === 'grouped');
    expect(grouped.map((content) => content.rows.length)).to.deep.equal([30, 22]);
  });

  it('sends parents bigger than a bin through the serial lane, a chain of files of one bin each', async () => {
    const { contents, files } = await check([25, 3, 4, 12, 2, 1], 3);
    const serial = contents.filter((content) => content.lane === 'serial');
    expect(serial.map((content) => content.rows.length)).to.deep.equal([10, 10, 5, 10, 2]);
    expect(files.filter((file) => file.lane === 'serial').map((file) => file.chain)).to.deep.equal([0, 0, 0, 1, 1]);
  });

  it('ends a job at a bin no remaining group fits, so the next job counts batches from zero', async () => {
    const { contents } = await check([6, 6, 6], 0);
    expect(contents.map((content) => content.rows.length)).to.deep.equal([6, 6, 6]);
  });

  it('spills to disk past the memory budget and groups as in memory', async () => {
    const sizes = [7, 3, 5, 5, 4, 6, 2, 8, 1, 1, 9, 1, 40, 10, 3, 3, 3];
    const inMemory = await check(sizes, 5);
    await rm(join(dir, 'out'), { recursive: true, force: true });
    // a budget of a few rows forces every level: re-partitioning, the single-key stream, runs
    const spilled = await check(sizes, 5, { memoryBytes: 200 });
    const summary = ({ contents }: typeof inMemory): number[] => contents.map((content) => content.rows.length).sort();
    expect(summary(spilled).reduce((a, b) => a + b)).to.equal(summary(inMemory).reduce((a, b) => a + b));
    expect(
      spilled.contents
        .filter((content) => content.lane === 'serial')
        .flatMap((c) => c.rows)
        .sort(),
    ).to.deep.equal(
      inMemory.contents
        .filter((content) => content.lane === 'serial')
        .flatMap((c) => c.rows)
        .sort(),
    );
  });

  it('groups thousands of parents over many spill files as in memory (one group table reused)', async () => {
    // 3,000 parents of 1 to 9 rows and two bigger than a bin, rows without a parent among them
    const sizes = Array.from({ length: 3000 }, (_, k) => (k === 17 || k === 2500 ? 23 : 1 + ((k * 7) % 9)));
    const inMemory = await check(sizes, 40);
    await rm(join(dir, 'out'), { recursive: true, force: true });
    // a budget of a few kB: dozens of spill files, each grouped in memory, the table reset between them
    const spilled = await check(sizes, 40, { memoryBytes: 64 * 1024 });
    const lengths = ({ contents }: Checked): number[] => contents.map((content) => content.rows.length);
    expect(lengths(spilled).reduce((a, b) => a + b)).to.equal(lengths(inMemory).reduce((a, b) => a + b));
    // every bin but each job's last is full, in memory as after spilling
    for (const { contents } of [inMemory, spilled]) {
      for (const content of contents.filter((c) => c.lane === 'grouped')) {
        const full = bins(content.rows, 10).slice(0, -1);
        expect(full.every((bin) => bin.length === 10)).to.equal(true);
      }
    }
  });

  it('groups keys that differ only in case, as an external id matches them', async () => {
    await writeFile(source, `${HEADER}\na,k1\nb,K2\nc,K1\nd,k2\n`);
    const files = await partitionSource(source, join(dir, 'out'), settings({ binRecords: 2, maxRecordsPerJob: 2 }));
    const contents = await read(files);
    expect(
      contents.map((content) =>
        content.rows
          .map((row) => row[0])
          .sort()
          .join(''),
      ),
    ).to.have.members(['ac', 'bd']);
  });

  it('reads the key past quoted fields ("" and delimiters inside), quoted or not, ASCII or not', async () => {
    // one parent written five ways, behind first values that hold quotes and commas; a non-ASCII
    // parent, once quoted; a key that is a quoted empty value locks nothing
    const rows = [
      '"a, ""x""",k1',
      'b,"K1"',
      '"c ""quoted""","k1"',
      '"d,",K1',
      'e,k1',
      '"f",Ökö',
      'g,"ökö"',
      'h,""',
      'i,k2',
    ];
    await writeFile(source, `${HEADER}\n${rows.join('\n')}\n`);
    const files = await partitionSource(source, join(dir, 'out'), settings({ binRecords: 5, maxRecordsPerJob: 5 }));
    const text = (await Promise.all(files.map(async ({ file }) => readFile(file, 'utf8')))).join('');
    const order = text
      .split('\n')
      .filter((line) => line !== '' && line !== HEADER)
      .map((line) => line.replace(/^"/, '')[0]);
    expect([...order].sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    // each parent's rows are contiguous
    const k1 = order.map((row, k) => ('abcde'.includes(row) ? k : -1)).filter((k) => k >= 0);
    expect(k1[k1.length - 1] - k1[0]).to.equal(4);
    const umlaut = order.map((row, k) => ('fg'.includes(row) ? k : -1)).filter((k) => k >= 0);
    expect(umlaut[1] - umlaut[0]).to.equal(1);
  });

  it('keeps a job within maxBytesPerJob as uploaded; a parent no job holds goes serial', async () => {
    // rows of 5 bytes ("a,k1\n"), a header of 30; with 5 extra bytes a row costs 10
    await writeFile(source, `${HEADER}\na,k1\nb,k1\nc,k2\nd,k3\ne,k4\nf,k4\ng,k4\nh,k4\ni,k4\nj,k4\n`);
    const config = settings({ binRecords: 10, maxRecordsPerJob: 10, maxBytesPerJob: 60, extraBytesPerRow: 5 });
    const files = await partitionSource(source, join(dir, 'out'), config);
    const contents = await read(files);
    // k4's six rows cost 60 and the header 30: no job holds them
    expect(files.filter((file) => file.lane === 'serial').map((file) => file.records)).to.deep.equal([6]);
    const grouped = contents.filter((content) => content.lane === 'grouped').map((content) => content.rows.length);
    // header 30 + three rows of 10 is the most a job holds
    expect(grouped.every((rows) => rows <= 3)).to.equal(true);
    expect(grouped.reduce((a, b) => a + b)).to.equal(4);
  });

  it('reads the key of a row whatever its line ending: LF, CRLF or a lone CR', async () => {
    await writeFile(source, `${HEADER}\na,k1\r\nb,k1\rc,k1\nd,k1`);
    const files = await partitionSource(source, join(dir, 'out'), settings({ binRecords: 4, maxRecordsPerJob: 4 }));
    expect(files.map((file) => file.records)).to.deep.equal([4]);
    // one parent: its rows keep their order
    const text = await readFile(files[0].file, 'utf8');
    expect(
      text
        .split(/\r\n|\r|\n/)
        .filter((line) => line !== '')
        .map((line) => line[0]),
    ).to.deep.equal(['L', 'a', 'b', 'c', 'd']);
  });

  it('keeps a CRLF source readable and writes nothing but derived files', async () => {
    await writeFile(source, `${HEADER}\r\na,A1\r\nb,A2\r\nc,A1\r\n`);
    const files = await partitionSource(source, join(dir, 'out'), settings({ lineEnding: 'CRLF' }));
    expect(files).to.have.lengthOf(1);
    const text = await readFile(files[0].file, 'utf8');
    expect(text.split('\r\n').filter((line) => line !== '')).to.have.lengthOf(4);
    expect(files[0].records).to.equal(3);
  });
});
