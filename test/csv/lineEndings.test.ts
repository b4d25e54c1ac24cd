import { expect } from 'chai';
import { LineEndingNormaliser } from '../../src/csv/lineEndings.js';
import { lineAt, RecordScanner } from '../../src/csv/scanner.js';
import type { LineEnding } from '../../src/manifest/types.js';
import { scratchFolder, seededRandom } from './csvFixtures.js';

/** the normaliser's output for `text` fed in pieces cut at `cuts` (offsets) */
function normalise(text: string, lineEnding: LineEnding, cuts: number[] = []): string {
  const bytes = Buffer.from(text, 'latin1');
  const normaliser = new LineEndingNormaliser('COMMA', lineEnding);
  const out: Buffer[] = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    // a fresh copy each time, overwritten after the push: the normaliser must not keep the caller's buffer
    const piece = Buffer.from(bytes.subarray(from, at));
    out.push(Buffer.from(normaliser.push(piece)));
    piece.fill(0x21);
    from = at;
  }
  out.push(normaliser.end());
  return Buffer.concat(out).toString('latin1');
}

/** the rule written out one character at a time: line endings outside quotes become `eol` */
function reference(text: string, eol: string): string {
  let out = '';
  let quoted = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      out += c;
      if (c === '"' && text[i + 1] === '"') {
        out += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        fieldStart = false;
      }
      continue;
    }
    if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      out += eol;
      fieldStart = true;
      continue;
    }
    if (c === '"' && fieldStart) quoted = true;
    fieldStart = c === ',';
    out += c;
  }
  return out;
}

/** the records the scanner reports, as [start, end, blank, terminator] */
function scan(text: string, cuts: number[] = []): number[][] {
  const bytes = Buffer.from(text, 'latin1');
  const scanner = new RecordScanner('COMMA');
  const records: number[][] = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    scanner.push(bytes.subarray(from, at), (start, end, blank, terminator) => {
      records.push([start, end, blank ? 1 : 0, terminator]);
    });
    from = at;
  }
  const { last } = scanner.end();
  if (last) records.push([last.start, last.end, last.blank ? 1 : 0, last.terminator ?? 0]);
  return records;
}

describe('RecordScanner line endings', () => {
  it('ends records at LF, CRLF and a lone CR outside quotes, and says which', () => {
    expect(scan('a\nb\r\nc\rd')).to.deep.equal([
      [0, 2, 0, 1],
      [2, 5, 0, 2],
      [5, 7, 0, 1],
      [7, 8, 0, 0],
    ]);
  });

  it('keeps CR and LF inside quotes as data', () => {
    expect(scan('"x\ry\r\nz",1\r"q"\n')).to.deep.equal([
      [0, 11, 0, 1],
      [11, 15, 0, 1],
    ]);
  });

  it('reads a CRLF split across two buffers as one line ending', () => {
    expect(scan('a\r\nb\r\n', [2])).to.deep.equal([
      [0, 3, 0, 2],
      [3, 6, 0, 2],
    ]);
    expect(scan('a\rb\n', [2])).to.deep.equal([
      [0, 2, 0, 1],
      [2, 4, 0, 1],
    ]);
  });

  it('counts blank lines of every kind as blank, and a lone CR at the very end as a line ending', () => {
    expect(scan('\r\n\n\ra\r', [1])).to.deep.equal([
      [0, 2, 1, 2],
      [2, 3, 1, 1],
      [3, 4, 1, 1],
      [4, 6, 0, 1],
    ]);
  });

  it('numbers lines in messages by every kind of line ending', async () => {
    const folder = scratchFolder();
    try {
      const file = folder.write('lines.csv', 'a\rb\r\nc\nd');
      expect(await Promise.all([0, 2, 5, 7].map((offset) => lineAt(file, offset)))).to.deep.equal([1, 2, 3, 4]);
    } finally {
      folder.remove();
    }
  });

  it('finds the same records however the input is cut (random mixed files)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      const text = randomMixed(random);
      const whole = scan(text);
      const cuts = randomCuts(random, text.length);
      expect(scan(text, cuts), `seed ${seed}`).to.deep.equal(whole);
    }
  });
});

describe('LineEndingNormaliser', () => {
  it('makes every line ending outside quotes the job one, leaving quoted ones alone', () => {
    const text = 'Name,Note\r\nA,"one\rtwo\r\nthree\n"\nB,x\rC,"q""\r"\r\n\nD';
    expect(normalise(text, 'LF')).to.equal('Name,Note\nA,"one\rtwo\r\nthree\n"\nB,x\nC,"q""\r"\n\nD');
    expect(normalise(text, 'CRLF')).to.equal('Name,Note\r\nA,"one\rtwo\r\nthree\n"\r\nB,x\r\nC,"q""\r"\r\n\r\nD');
  });

  it('joins a CR at the end of one buffer to an LF at the start of the next', () => {
    expect(normalise('a\r\nb\r\n', 'LF', [2])).to.equal('a\nb\n');
    expect(normalise('a\r\nb\r\n', 'CRLF', [2, 5])).to.equal('a\r\nb\r\n');
    // a lone CR at a buffer end, and one as the very last byte
    expect(normalise('a\rb\r', 'CRLF', [2])).to.equal('a\r\nb\r\n');
    expect(normalise('a\rb\r', 'LF', [2, 4])).to.equal('a\nb\n');
  });

  it('leaves a quoted value that spans buffers as it is, line breaks and all', () => {
    const text = 'x,"a\r\nb\rc\nd"\r\ny,"\r"\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(normalise(text, 'LF', [cut]), `cut at ${cut}`).to.equal('x,"a\r\nb\rc\nd"\ny,"\r"\n');
      expect(normalise(text, 'CRLF', [cut]), `cut at ${cut}`).to.equal('x,"a\r\nb\rc\nd"\r\ny,"\r"\r\n');
    }
  });

  it('changes nothing in a file that already uses the job line ending', () => {
    const text = 'a,"b\r\nc"\r\n\r\nd,e\r\n';
    expect(normalise(text, 'CRLF', [3, 7, 8])).to.equal(text);
  });

  it('agrees with the rule written out by hand, however the input is cut (random mixed files)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const text = randomMixed(random);
      const cuts = randomCuts(random, text.length);
      for (const [lineEnding, eol] of [
        ['LF', '\n'],
        ['CRLF', '\r\n'],
      ] as const) {
        expect(normalise(text, lineEnding, cuts), `seed ${seed} ${lineEnding}`).to.equal(reference(text, eol));
      }
    }
  });
});

/** records of quoted and unquoted values, line breaks of every kind inside quotes and between records */
function randomMixed(random: () => number): string {
  const endings = ['\n', '\r\n', '\r'];
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  let text = '';
  const records = 1 + Math.floor(random() * 12);
  for (let r = 0; r < records; r++) {
    const fields = 1 + Math.floor(random() * 3);
    for (let f = 0; f < fields; f++) {
      if (f > 0) text += ',';
      const kind = random();
      if (kind < 0.4) text += 'v'.repeat(Math.floor(random() * 4));
      else if (kind < 0.8) text += `"${pick(['a', '""', pick(endings), ',', 'b\rc'])}${pick(['', pick(endings)])}"`;
      // a quote inside an unquoted value is data, as the scanner reads it
      else text += 'x"y';
    }
    if (r < records - 1 || random() < 0.7) text += pick(endings);
    if (random() < 0.15) text += pick(endings); // a blank line
  }
  return text;
}

function randomCuts(random: () => number, length: number): number[] {
  const cuts: number[] = [];
  for (let at = 1 + Math.floor(random() * 4); at < length; at += 1 + Math.floor(random() * 4)) cuts.push(at);
  return cuts;
}
