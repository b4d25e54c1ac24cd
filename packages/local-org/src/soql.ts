import type { FieldDescribe } from './schema.js';
import type { ObjectStore, RecordStore, StoredRecord } from './store.js';

// A useful subset of SOQL: field lists with parent paths, COUNT(), WHERE with comparison, IN, LIKE,
// AND/OR/NOT, NULL; ORDER BY; LIMIT; OFFSET. Errors carry the wire codes and the caret-style messages.

export class SoqlError extends Error {
  public constructor(
    public readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_TYPE' | 'INVALID_FIELD',
    message: string,
  ) {
    super(message);
  }
}

type Token = { kind: 'word' | 'string' | 'number' | 'op' | 'punct'; text: string; at: number };
type Literal = string | number | boolean | null;
type Path = { parts: string[]; at: number };
type Condition = { path: Path; op: string; value: Literal | Literal[] };
type Expr = { and: Expr[] } | { or: Expr[] } | { not: Expr } | Condition;
type Order = { path: Path; desc: boolean; nullsLast: boolean };

export type ParsedQuery = {
  text: string;
  count: boolean;
  /** COUNT(field) and similar aggregates answer one AggregateResult row */
  aggregateAlias?: string;
  fields: Path[];
  object: string;
  objectAt: number;
  where?: Expr;
  orderBy: Order[];
  limit?: number;
  offset?: number;
};

/** A selected column: its SOQL path, and how each record is read through relationships. */
export type Column = { name: string; parts: string[]; resolve: Array<{ store: ObjectStore; field: FieldDescribe }> };

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
    const fields: Path[] = [];
    let count = false;
    let aggregateAlias: string | undefined;
    do {
      const token = this.next();
      if (token.text.toUpperCase() === 'COUNT' && this.peek()?.text === '(') {
        this.next();
        const inner = this.peek()?.text === ')' ? undefined : this.next();
        this.expect(')');
        if (inner) {
          aggregateAlias = 'expr0';
          fields.push({ parts: inner.text.split('.'), at: inner.at });
        } else count = true;
      } else if (token.kind === 'word') fields.push({ parts: token.text.split('.'), at: token.at });
      else throw this.unexpected(token);
    } while (this.accept(','));
    this.keyword('FROM');
    const objectToken = this.next();
    if (objectToken.kind !== 'word') throw this.unexpected(objectToken);
    const query: ParsedQuery = {
      text: this.text,
      count,
      aggregateAlias,
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
    // date and datetime literals are written bare: 2024-01-31, 2024-01-31T10:00:00Z
    if (/^\d{4}-\d{2}-\d{2}/.test(token.text)) return token.text.replace(/Z$/, '.000+0000');
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
function caret(text: string, at: number, reason: string): string {
  const before = text.slice(0, at);
  const row = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `\n${text}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${reason}`;
}

export function parseSoql(text: string): ParsedQuery {
  return new Parser(tokenize(text), text).parse();
}

function resolvePath(store: RecordStore, object: ObjectStore, path: Path, query: ParsedQuery): Column['resolve'] {
  const steps: Column['resolve'] = [];
  let current = object;
  const parts =
    path.parts[0].toLowerCase() === object.describe.name.toLowerCase() && path.parts.length > 1
      ? path.parts.slice(1)
      : path.parts;
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    const field = last
      ? current.field(part)
      : current.describe.fields.find((f) => f.relationshipName?.toLowerCase() === part.toLowerCase());
    const parent = field && !last ? store.object(field.referenceTo[0]) : undefined;
    if (!field || (!last && !parent)) {
      const what = last
        ? `No such column '${part}' on entity '${current.describe.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`
        : `Didn't understand relationship '${part}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.`;
      throw new SoqlError(
        'INVALID_FIELD',
        caret(
          query.text,
          path.at,
          `${what} Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    }
    steps.push({ store: current, field });
    if (parent) current = parent;
  }
  return steps;
}

export type QueryResult = {
  object: ObjectStore;
  columns: Column[];
  records: StoredRecord[];
  count: boolean;
  aggregateAlias?: string;
  totalSize: number;
};

/** Runs a query against the store; records are returned in order, not yet rendered. */
export function runSoql(store: RecordStore, text: string, includeDeleted: boolean): QueryResult {
  const query = parseSoql(text);
  const object = store.object(query.object);
  if (!object?.describe.queryable) {
    throw new SoqlError(
      'INVALID_TYPE',
      caret(
        text,
        query.objectAt,
        `sObject type '${query.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      ),
    );
  }
  const columns: Column[] = query.fields.map((path) => {
    const resolve = resolvePath(store, object, path, query);
    return {
      name: path.parts.join('.'),
      parts: resolve.map((s, i) =>
        i === resolve.length - 1 ? s.field.name : (s.field.relationshipName ?? s.field.name),
      ),
      resolve,
    };
  });
  const read = (record: StoredRecord, resolve: Column['resolve']): unknown => valueAt(store, record, resolve);
  const filter = query.where ? compile(store, object, query, query.where) : (): boolean => true;
  let records: StoredRecord[] = [];
  for (const record of object.records.values()) if (filter(record)) records.push(record);
  if (includeDeleted) for (const record of object.deleted.values()) if (record && filter(record)) records.push(record);
  if (query.orderBy.length) {
    const keys = query.orderBy.map((o) => ({ ...o, resolve: resolvePath(store, object, o.path, query) }));
    records.sort((a, b) => {
      for (const key of keys) {
        const c = compareForSort(read(a, key.resolve), read(b, key.resolve), key.nullsLast);
        if (c !== 0) return key.desc ? -c : c;
      }
      return 0;
    });
  }
  const totalSize = records.length;
  if (query.offset) records = records.slice(query.offset);
  if (query.limit !== undefined) records = records.slice(0, query.limit);
  return {
    object,
    columns,
    records,
    count: query.count || Boolean(query.aggregateAlias),
    aggregateAlias: query.aggregateAlias,
    totalSize: query.count ? Math.min(records.length, totalSize) : records.length,
  };
}

function valueAt(store: RecordStore, record: StoredRecord, resolve: Column['resolve']): unknown {
  let current: StoredRecord | undefined = record;
  for (const [index, step] of resolve.entries()) {
    if (!current) return null;
    const value: unknown = current[step.field.name];
    if (index === resolve.length - 1) return value ?? null;
    current = typeof value === 'string' ? store.objectOfId(value)?.records.get(value) : undefined;
  }
  return null;
}

function compareForSort(a: unknown, b: unknown, nullsLast: boolean): number {
  const aNull = a === null || a === undefined;
  const bNull = b === null || b === undefined;
  if (aNull || bNull) return aNull && bNull ? 0 : aNull === nullsLast ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).toLowerCase().localeCompare(String(b).toLowerCase());
}

function matches(value: unknown, op: string, literal: Literal | Literal[]): boolean {
  if (op === 'IN' || op === 'NOT IN') {
    const found = (literal as Literal[]).some((l) => matches(value, '=', l));
    return op === 'IN' ? found : !found;
  }
  const isNull = value === null || value === undefined;
  if (literal === null) return op === '=' ? isNull : op === '!=' ? !isNull : false;
  if (isNull) return op === '!=';
  if (op === 'LIKE') {
    const pattern = String(literal)
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/%/g, '.*')
      .replace(/_/g, '.');
    return new RegExp(`^${pattern}$`, 'is').test(String(value));
  }
  let c: number;
  if (typeof value === 'number' && typeof literal === 'number') c = value - literal;
  else if (typeof value === 'boolean') c = value === literal ? 0 : 1;
  else c = String(value).toLowerCase().localeCompare(String(literal).toLowerCase());
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}

function compile(
  store: RecordStore,
  object: ObjectStore,
  query: ParsedQuery,
  expr: Expr,
): (r: StoredRecord) => boolean {
  if ('and' in expr) {
    const parts = expr.and.map((e) => compile(store, object, query, e));
    return (r) => parts.every((p) => p(r));
  }
  if ('or' in expr) {
    const parts = expr.or.map((e) => compile(store, object, query, e));
    return (r) => parts.some((p) => p(r));
  }
  if ('not' in expr) {
    const inner = compile(store, object, query, expr.not);
    return (r) => !inner(r);
  }
  const resolve = resolvePath(store, object, expr.path, query);
  const field = resolve[resolve.length - 1].field;
  const value = expr.value;
  return (r) => {
    const v = valueAt(store, r, resolve);
    // 15-char ids compare to the first 15 characters of stored 18-char ids
    if ((field.type === 'id' || field.type === 'reference') && typeof v === 'string') {
      const short = (l: Literal): boolean => typeof l === 'string' && l.length === 15;
      if (Array.isArray(value) ? value.some(short) : short(value))
        return matches(v.slice(0, 15), expr.op, value) || matches(v, expr.op, value);
    }
    return matches(v, expr.op, value);
  };
}

/** The REST JSON of one record: attributes, then the selected fields, parents nested under their relationship. */
export function renderRecord(
  store: RecordStore,
  result: QueryResult,
  record: StoredRecord,
  apiVersion: string,
): Record<string, unknown> {
  const attributes = (type: string, id: string): Record<string, string> => ({
    type,
    url: `/services/data/v${apiVersion}/sobjects/${type}/${id}`,
  });
  const out: Record<string, unknown> = { attributes: attributes(result.object.describe.name, record.Id) };
  for (const column of result.columns) {
    let target = out;
    let current: StoredRecord | undefined = record;
    for (const [index, step] of column.resolve.entries()) {
      if (index === column.resolve.length - 1) {
        target[step.field.name] = current ? (current[step.field.name] ?? null) : null;
        break;
      }
      const relationship = step.field.relationshipName ?? step.field.name;
      const parentId: unknown = current?.[step.field.name];
      const parent: StoredRecord | undefined =
        typeof parentId === 'string' ? store.objectOfId(parentId)?.records.get(parentId) : undefined;
      if (!parent) {
        target[relationship] = null;
        break;
      }
      const existing = target[relationship];
      if (!existing || typeof existing !== 'object') {
        const type = store.objectOfId(parent.Id)?.describe.name ?? step.field.referenceTo[0];
        target[relationship] = { attributes: attributes(type, parent.Id) };
      }
      target = target[relationship] as Record<string, unknown>;
      current = parent;
    }
  }
  return out;
}

/** The flat CSV cells of one record (bulk query results): parent fields as Relationship.Field columns. */
export function flatValues(store: RecordStore, result: QueryResult, record: StoredRecord): string[] {
  return result.columns.map((column) => {
    const value = valueAt(store, record, column.resolve);
    return value === null || value === undefined ? '' : String(value);
  });
}
