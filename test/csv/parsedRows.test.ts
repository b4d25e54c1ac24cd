/*
 * parsedRows: every row of a parser in order, the stream's error thrown, a stream destroyed before
 * its end an error, and a consumer that stops early destroys the stream (as `for await` does).
 */
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { parse } from 'csv-parse';
import { parsedRows } from '../../src/csv/parsedRows.js';

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

describe('parsedRows', () => {
  it('yields every row in order, across many reads', async () => {
    const text = Array.from({ length: 5000 }, (_, i) => `${i},"v ""${i}"""\n`).join('');
    // small pieces, so the parser runs dry and refills many times
    const pieces = text.match(/[\s\S]{1,100}/g) ?? [];
    const parser = Readable.from(pieces).pipe(parse());
    const rows = await collect(parsedRows<string[]>(parser));
    expect(rows).to.have.lengthOf(5000);
    expect(rows[0]).to.deep.equal(['0', 'v "0"']);
    expect(rows[4999]).to.deep.equal(['4999', 'v "4999"']);
    expect(rows.every((row, i) => row[0] === String(i))).to.equal(true);
  });

  it('yields nothing for an empty stream', async () => {
    expect(await collect(parsedRows(Readable.from([]).pipe(parse())))).to.deep.equal([]);
  });

  it("throws the stream's error after the rows before it", async () => {
    const parser = parse();
    const rows = parsedRows<string[]>(parser);
    // csv-parse holds the last records back until more input comes
    parser.write('a,b\nc,d\ne,f\ng,');
    const first = await rows.next();
    expect(first.value).to.deep.equal(['a', 'b']);
    setImmediate(() => parser.destroy(new Error('disk gone')));
    let failed: unknown;
    try {
      // rows the parser held may come first; the error ends them
      // eslint-disable-next-line no-await-in-loop
      while (!(await rows.next()).done);
    } catch (error) {
      failed = error;
    }
    expect((failed as Error).message).to.equal('disk gone');
  });

  it('throws on a parse error (an unclosed quote)', async () => {
    const parser = Readable.from(['a,"b\n']).pipe(parse());
    let failed: unknown;
    try {
      await collect(parsedRows(parser));
    } catch (error) {
      failed = error;
    }
    expect((failed as { code?: string }).code).to.equal('CSV_QUOTE_NOT_CLOSED');
  });

  it('throws when the stream is destroyed before its end without an error', async () => {
    const parser = parse();
    const rows = parsedRows<string[]>(parser);
    parser.write('a,b\nc,d\ne,f\ng,');
    await rows.next();
    setImmediate(() => parser.destroy());
    let failed: unknown;
    try {
      // eslint-disable-next-line no-await-in-loop
      while (!(await rows.next()).done);
    } catch (error) {
      failed = error;
    }
    expect((failed as { code?: string }).code).to.equal('ERR_STREAM_PREMATURE_CLOSE');
  });

  it('destroys the stream when the consumer stops early', async () => {
    const parser = Readable.from(['a\nb\nc\n']).pipe(parse());
    for await (const row of parsedRows<string[]>(parser)) {
      expect(row).to.deep.equal(['a']);
      break;
    }
    expect(parser.destroyed).to.equal(true);
  });
});
