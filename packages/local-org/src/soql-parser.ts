// The SOQL parser of the local org: a useful subset of SOQL — field lists with parent paths, COUNT(),
// COUNT(field) with or without an alias (no GROUP BY), WHERE with comparison, IN, LIKE, AND/OR/NOT,
// NULL; ORDER BY; LIMIT; OFFSET — read into a ParsedQuery. Errors carry the wire codes and the
// caret-style messages of a real org.

export class SoqlError extends Error {
  public constructor(
    public readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_TYPE' | 'INVALID_FIELD',
    message: string,
  ) {
    super(message);
  }
}

type Token = { kind: 'word' | 'string' | 'number' | 'op' | 'punct'; text: string; at: number };
export type Literal = string | number | boolean | null;
export type Path = { parts: string[]; at: number };
type Condition = { path: Path; op: string; value: Literal | Literal[] };
export type Expr = { and: Expr[] } | { or: Expr[] } | { not: Expr } | Condition;
type Order = { path: Path; desc: boolean; nullsLast: boolean };
/** An aggregate of the select list: its field and the name its value has in the AggregateResult. */
export type Aggregate = { path: Path; alias: string };

export type ParsedQuery = {
  text: string;
  /** COUNT(): the answer is totalSize alone */
  count: boolean;
  /** COUNT(field) [alias]: the answer is one AggregateResult row with one value per aggregate */
  aggregates: Aggregate[];
  fields: Path[];
  object: string;
  objectAt: number;
  where?: Expr;
  orderBy: Order[];
  limit?: number;
  offset?: number;
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== "'"; j++) {
        if (text[j] === '\\' && j + 1 < text.length) {
          j++;
          const e = text[j];
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else value += text[j];
      }
      if (j >= text.length) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${text.slice(i)}'`);
      tokens.push({ kind: 'string', text: value, at: i });
      i = j + 1;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(text.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[1], at: i });
      i += op[1].length;
      continue;
    }
    if ('(),'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    const word = /^[A-Za-z0-9_.:+-]+/.exec(text.slice(i));
    if (!word) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${c}'`);
    const kind = /^[+-]?\d+(\.\d+)?$/.test(word[0]) ? 'number' : 'word';
    tokens.push({ kind, text: word[0], at: i });
    i += word[0].length;
  }
  return tokens;
}

class Parser {
  private position = 0;
  public constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  public parse(): ParsedQuery {
    this.keyword('SELECT');
    const { fields, aggregates, count } = this.selectList();
    this.keyword('FROM');
    const objectToken = this.next();
    if (objectToken.kind !== 'word') throw this.unexpected(objectToken);
    const query: ParsedQuery = {
      text: this.text,
      count,
      aggregates,
      fields,
      object: objectToken.text,
      objectAt: objectToken.at,
      orderBy: [],
    };
    if (this.acceptKeyword('WHERE')) query.where = this.orExpr();
    if (this.acceptKeyword('ORDER')) {
      this.keyword('BY');
      do {
        const token = this.next();
        if (token.kind !== 'word') throw this.unexpected(token);
        const desc = this.acceptKeyword('DESC') ? true : (this.acceptKeyword('ASC'), false);
        let nullsLast = desc;
        if (this.acceptKeyword('NULLS')) nullsLast = this.acceptKeyword('LAST') ? true : (this.keyword('FIRST'), false);
        query.orderBy.push({ path: { parts: token.text.split('.'), at: token.at }, desc, nullsLast });
      } while (this.accept(','));
    }
    if (this.acceptKeyword('LIMIT')) query.limit = this.integer();
    if (this.acceptKeyword('OFFSET')) query.offset = this.integer();
    const rest = this.peek();
    if (rest) throw this.unexpected(rest);
    return query;
  }

  /** The select list: fields, COUNT() and COUNT(field) [alias]. */
  private selectList(): Pick<ParsedQuery, 'fields' | 'aggregates' | 'count'> {
    const fields: Path[] = [];
    const aggregates: Aggregate[] = [];
    let count = false;
    // SOQL docs, "Using Aliases with GROUP BY": an aggregate without an alias is named expr0, expr1, …
    // in the order of the aggregates that have none; an alias is the word right after the aggregate.
    let unnamed = 0;
    let firstPlain: Token | undefined;
    do {
      const token = this.next();
      if (token.text.toUpperCase() === 'COUNT' && this.peek()?.text === '(') {
        this.next();
        const inner = this.peek()?.text === ')' ? undefined : this.next();
        if (inner && inner.kind !== 'word') throw this.unexpected(inner);
        this.expect(')');
        if (!inner) {
          count = true;
          continue;
        }
        const alias = this.peek();
        const named = alias?.kind === 'word' && alias.text.toUpperCase() !== 'FROM';
        if (named) this.next();
        aggregates.push({
          path: { parts: inner.text.split('.'), at: inner.at },
          alias: named ? alias.text : `expr${unnamed++}`,
        });
      } else if (token.kind === 'word') {
        firstPlain ??= token;
        fields.push({ parts: token.text.split('.'), at: token.at });
      } else throw this.unexpected(token);
    } while (this.accept(','));
    if ((count || aggregates.length > 0) && firstPlain) {
      // (no GROUP BY in this subset) a plain field beside an aggregate is refused; the wording is a real
      // org's for COUNT(field), assumed for COUNT() too
      throw new SoqlError(
        'MALFORMED_QUERY',
        caret(this.text, firstPlain.at, `Field must be grouped or aggregated: ${firstPlain.text}`),
      );
    }
    return { fields, aggregates, count };
  }

  private orExpr(): Expr {
    const parts = [this.andExpr()];
    while (this.acceptKeyword('OR')) parts.push(this.andExpr());
    return parts.length === 1 ? parts[0] : { or: parts };
  }

  private andExpr(): Expr {
    const parts = [this.unary()];
    while (this.acceptKeyword('AND')) parts.push(this.unary());
    return parts.length === 1 ? parts[0] : { and: parts };
  }

  private unary(): Expr {
    if (this.acceptKeyword('NOT')) return { not: this.unary() };
    if (this.accept('(')) {
      const inner = this.orExpr();
      this.expect(')');
      return inner;
    }
    const fieldToken = this.next();
    if (fieldToken.kind !== 'word') throw this.unexpected(fieldToken);
    const path = { parts: fieldToken.text.split('.'), at: fieldToken.at };
    const opToken = this.next();
    const upper = opToken.text.toUpperCase();
    if (opToken.kind === 'op') return { path, op: opToken.text === '<>' ? '!=' : opToken.text, value: this.literal() };
    if (upper === 'LIKE') return { path, op: 'LIKE', value: this.literal() };
    if (upper === 'IN' || (upper === 'NOT' && this.acceptKeyword('IN'))) {
      this.expect('(');
      const values: Literal[] = [];
      do values.push(this.literal());
      while (this.accept(','));
      this.expect(')');
      return { path, op: upper === 'IN' ? 'IN' : 'NOT IN', value: values };
    }
    throw this.unexpected(opToken);
  }

  private literal(): Literal {
    const token = this.next();
    if (token.kind === 'string') return token.text;
    if (token.kind === 'number') return Number(token.text);
    const upper = token.text.toUpperCase();
    if (upper === 'NULL') return null;
    if (upper === 'TRUE') return true;
    if (upper === 'FALSE') return false;
    // date and datetime literals are written bare: 2024-01-31, 2024-01-31T10:00:00Z,
    // 2024-01-31T10:00:00.000+01:00 (SOQL docs, "Date Formats and Date Literals"); a datetime is read into
    // the wire form of stored datetimes (yyyy-MM-ddTHH:mm:ss.SSS+0000, UTC), so both compare as times
    if (/^\d{4}-\d{2}-\d{2}$/.test(token.text)) return token.text;
    const datetime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/.test(token.text)
      ? new Date(token.text)
      : undefined;
    if (datetime && !Number.isNaN(datetime.getTime())) return datetime.toISOString().replace('Z', '+0000');
    throw this.unexpected(token);
  }

  private integer(): number {
    const token = this.next();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) throw this.unexpected(token);
    return Number(token.text);
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private next(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw new SoqlError('MALFORMED_QUERY', 'unexpected token: <EOF>');
    return token;
  }

  private accept(punct: string): boolean {
    if (this.peek()?.text === punct) {
      this.position++;
      return true;
    }
    return false;
  }

  private expect(punct: string): void {
    const token = this.next();
    if (token.text !== punct) throw this.unexpected(token);
  }

  private acceptKeyword(word: string): boolean {
    const token = this.peek();
    if (token?.kind === 'word' && token.text.toUpperCase() === word) {
      this.position++;
      return true;
    }
    return false;
  }

  private keyword(word: string): void {
    const token = this.next();
    if (token.kind !== 'word' || token.text.toUpperCase() !== word) throw this.unexpected(token);
  }

  private unexpected(token: Token): SoqlError {
    return new SoqlError(
      'MALFORMED_QUERY',
      caret(this.text, token.at, `unexpected token: ${token.kind === 'string' ? `'${token.text}'` : token.text}`),
    );
  }
}

/** The message layout of a real org: the query, a caret under the offending column, then the reason. */
export function caret(text: string, at: number, reason: string): string {
  const before = text.slice(0, at);
  const row = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `\n${text}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${reason}`;
}

/**
 * "Maximum length of SOQL statements: By default, 100,000 characters" (Salesforce Developer Limits and
 * Allocations Quick Reference, "SOQL and SOSL Limits for Search Queries"). A real org's answer to a longer
 * one, reported when the limit was 20,000: "MALFORMED_QUERY: SOQL statements can not be longer than 20000
 * character" (Illuminated Cloud issue 466, bitbucket.org/RoseSilverSoftware/illuminatedcloud).
 */
export const MAX_SOQL_LENGTH = 100_000;

export function parseSoql(text: string): ParsedQuery {
  if (text.length > MAX_SOQL_LENGTH) {
    throw new SoqlError('MALFORMED_QUERY', `SOQL statements can not be longer than ${MAX_SOQL_LENGTH} character`);
  }
  return new Parser(tokenize(text), text).parse();
}
