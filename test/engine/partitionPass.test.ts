/*
 * The partition pass of lock-aware jobs: every row comes out exactly once, each parent's rows in
 * order, each parent's rows sit in one bin of one grouped file (so the org's cut every `binRecords`
 * rows never splits a parent), parents bigger than a bin share serial files in which every bin but
 * the last is full and no parent is in two bins, and the spill path (a memory budget smaller than
 * the data) gives the same grouping as the in-memory path.
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

/** the bins of a job file: consecutive runs of binRecords rows, as the org cuts a job */
function bins(rows: string[], binRecords: number): string[][] {
  const out: string[][] = [];
  for (let k = 0; k < rows.length; k += binRecords) out.push(rows.slice(k, k + binRecords));
  return out;
}

/**
 * What breaks the serial lane's rules in its files: a file past the job's records, a parent in two
 * bins of one file (the org may process them at once), a file out of the one chain. Bins are cut as
 * the org cuts them, every binRecords rows, so a bin the packer left short before its job's last
 * shows as the next parent cut in two.
 */
function serialProblems(files: Array<{ rows: string[]; chain?: number }>, config: PartitionSettings): string[] {
  const problems: string[] = [];
  files.forEach(({ rows, chain }, f) => {
    if (rows.length > config.maxRecordsPerJob) problems.push(`file ${f}: ${rows.length} rows`);
    if (chain !== 0) problems.push(`file ${f}: chain ${String(chain)}`);
    const binsOf = bins(rows, config.binRecords);
    const binOf = new Map<string, number>();
    binsOf.forEach((bin, b) => {
      for (const parent of new Set(bin.map(parentOf))) {
        const other = binOf.get(parent);
        if (other !== undefined) problems.push(`file ${f}: ${parent} in bins ${other} and ${b}`);
        binOf.set(parent, b);
      }
    });
  });
  return problems;
}

/** the rows of each parent, in the order the files hold them (rows without one lock nothing: any order) */
function rowsByParent(rows: string[]): Record<string, string[]> {
  const byParent: Record<string, string[]> = {};
  for (const row of rows) if (parentOf(row) !== '') (byParent[parentOf(row)] ??= []).push(row);
  return byParent;
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
    const chains = files.filter((file) => file.lane === 'serial').map((file) => file.chain);
    const serialFiles = serial.map((content, k) => ({ rows: content.rows, chain: chains[k] }));
    expect(serialProblems(serialFiles, config)).to.deep.equal([]);
    // each parent's rows in their order in the source, across files
    expect(rowsByParent(seen)).to.deep.equal(rowsByParent(all));
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

  it('sends parents bigger than a bin through the serial lane, in jobs they share, one bin each a job', async () => {
    const { contents, files } = await check([25, 3, 4, 12, 2, 1], 3);
    const serial = contents.filter((content) => content.lane === 'serial');
    // A0 10 and A3 10; A0 10 and A3's last 2; A0's last 5
    expect(serial.map((content) => content.rows.length)).to.deep.equal([20, 12, 5]);
    const parentsByBin = serial.map((content) => bins(content.rows, 10).map((bin) => [...new Set(bin.map(parentOf))]));
    expect(parentsByBin).to.deep.equal([[['A0'], ['A3']], [['A0'], ['A3']], [['A0']]]);
    expect(files.filter((file) => file.lane === 'serial').map((file) => file.chain)).to.deep.equal([0, 0, 0]);
  });

  it('packs five parents of 12 children, bins of 10, into two jobs: five full bins, then the five rests', async () => {
    // the 1M benchmark's giant Accounts, scaled down: ten serial jobs before, two now
    const { contents } = await check([12, 12, 12, 12, 12, 3], 0, { maxRecordsPerJob: 100 });
    const serial = contents.filter((content) => content.lane === 'serial');
    expect(serial.map((content) => content.rows.length)).to.deep.equal([50, 10]);
    expect(new Set(serial[1].rows.map(parentOf)).size).to.equal(5);
  });

  it('ends a serial job at maxRecordsPerJob, a parent going on in the next job', async () => {
    const { contents } = await check([25, 25, 25, 25], 0, { maxRecordsPerJob: 30 });
    const serial = contents.filter((content) => content.lane === 'serial');
    expect(serial.map((content) => content.rows.length)).to.deep.equal([30, 30, 30, 10]);
  });

  it('lets a parent past the memory budget share serial jobs with parents held in memory', async () => {
    // A0's spill file alone outgrows the budget and is streamed as one group, set aside as it is;
    // A1 and A2 are grouped in memory
    const { contents } = await check([400, 15, 13, 3, 2, 1], 2, { memoryBytes: 8192 });
    const serial = contents.filter((content) => content.lane === 'serial');
    // A0, A1, A2 ten each; A0 ten, A1 five and A2 three; then A0 alone, ten a job
    expect(serial.slice(0, 3).map((content) => content.rows.length)).to.deep.equal([30, 18, 10]);
    expect(serial).to.have.lengthOf(40);
  });

  it('keeps a parent past the memory budget whole however many rows without a parent share its spill files', async () => {
    // Rows without a parent are dealt round-robin into every part at every depth: with 8,192 of
    // them, A0's spill file still holds a few at the last depth (1 part, then 16 at each level), so
    // it is never A0's rows alone. A budget of 8 times the source makes one spill file, which A0's
    // rows alone outgrow (96 bytes a row held besides its own) at every depth. A0's rows are taken
    // out whole by key, never cut into runs (which put A0 in two bins of one serial job).
    const sizes = [100_000, 3, 2];
    const bytes = Buffer.byteLength([HEADER, ...rowsOf(sizes, 8192)].join('\n'));
    const { contents } = await check(sizes, 8192, {
      binRecords: 10_000,
      maxRecordsPerJob: 30_000,
      memoryBytes: 8 * bytes,
    });
    const serial = contents.filter((content) => content.lane === 'serial');
    expect(serial.map((content) => content.rows.length)).to.deep.equal(Array(10).fill(10_000));
  });

  it('ends a serial job at maxBytesPerJob as uploaded, each job within it', async () => {
    const all = rowsOf([15, 15, 3], 0);
    await writeFile(source, `${[HEADER, ...all].join('\n')}\n`);
    const config = settings({ binRecords: 10, maxRecordsPerJob: 100, maxBytesPerJob: 120, extraBytesPerRow: 2 });
    const files = await partitionSource(source, join(dir, 'out'), config);
    const contents = await read(files);
    const serial = contents.filter((content) => content.lane === 'serial');
    const cost = (rows: string[]): number =>
      HEADER.length + 1 + rows.reduce((sum, row) => sum + row.length + 1 + (config.extraBytesPerRow ?? 0), 0);
    for (const content of serial) expect(cost(content.rows)).to.be.at.most(config.maxBytesPerJob);
    // a job's bytes end it in its first bin here, so every job is short of one bin and has one parent
    expect(serial.length).to.be.greaterThan(3);
    const chains = files.filter((file) => file.lane === 'serial').map((file) => file.chain);
    const serialFiles = serial.map((content, k) => ({ rows: content.rows, chain: chains[k] }));
    expect(serialProblems(serialFiles, config)).to.deep.equal([]);
    const seen = contents.flatMap((content) => content.rows);
    expect([...seen].sort()).to.deep.equal([...all].sort());
    expect(rowsByParent(seen)).to.deep.equal(rowsByParent(all));
  });

  it('keeps quoted line breaks inside their rows in serial jobs, in memory and past the memory budget', async () => {
    const all: string[] = [];
    const sizes = [25, 14, 4];
    for (let round = 0; round < 25; round++) {
      sizes.forEach((n, k) => {
        if (round < n) all.push(`"line one\n${round % 2 === 0 ? 'two\r\n' : ''}c${k}-${round}",A${k}`);
      });
    }
    await writeFile(source, `${[HEADER, ...all].join('\n')}\n`);
    for (const memoryBytes of [64 * 1024 * 1024, 200]) {
      const config = settings({ memoryBytes });
      // eslint-disable-next-line no-await-in-loop
      const files = await partitionSource(source, join(dir, `out-${memoryBytes}`), config);
      // eslint-disable-next-line no-await-in-loop
      const contents = await Promise.all(
        files.map(async ({ file, lane, chain }) => {
          const text = await readFile(file, 'utf8');
          expect(text.startsWith(`${HEADER}\n`)).to.equal(true);
          const rows = text.slice(HEADER.length + 1).split(/(?<=,A\d+)\n/);
          return { lane, chain, rows: rows.filter((row) => row !== '') };
        }),
      );
      const seen = contents.flatMap((content) => content.rows);
      expect([...seen].sort()).to.deep.equal([...all].sort());
      expect(rowsByParent(seen)).to.deep.equal(rowsByParent(all));
      const serial = contents.filter((content) => content.lane === 'serial');
      expect(serial.map((content) => content.rows.length)).to.deep.equal([20, 14, 5]);
      expect(serialProblems(serial, config)).to.deep.equal([]);
    }
  });

  it('fails the checks when a parent is in two bins of one serial job, or a file is out of the chain', () => {
    const config = settings({ binRecords: 2, maxRecordsPerJob: 10 });
    const rows = (parents: string): string[] => [...parents].map((parent, k) => `c${k},${parent}`);
    expect(
      serialProblems(
        [
          { rows: rows('aabbcc'), chain: 0 },
          { rows: rows('aab'), chain: 0 },
        ],
        config,
      ),
    ).to.deep.equal([]);
    expect(serialProblems([{ rows: rows('aabbaa'), chain: 0 }], config)).to.deep.equal(['file 0: a in bins 0 and 2']);
    // a bin left short (a, then b's two) moves the org's cut into b
    expect(serialProblems([{ rows: rows('abbc'), chain: 0 }], config)).to.deep.equal(['file 0: b in bins 0 and 1']);
    expect(serialProblems([{ rows: rows('aab'), chain: 1 }], config)).to.deep.equal(['file 0: chain 1']);
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
    // k4's six rows cost 60 and the header 30: no job holds them, so they go serial, three a job
    expect(files.filter((file) => file.lane === 'serial').map((file) => file.records)).to.deep.equal([3, 3]);
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
