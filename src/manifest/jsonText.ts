/*
 * The manifest as text: parsed with positions so that every problem, including a JSON syntax
 * error, can say line:column in the file the user edits.
 */
import {
  findNodeAtLocation,
  getNodeValue,
  parseTree,
  printParseErrorCode,
  type Node,
  type ParseError,
} from 'jsonc-parser';
import { parsePointer, pointerOf } from './problems.js';

export type Position = { line: number; column: number };

export type SyntaxProblem = Position & { kind: 'syntax'; detail: string };
export type DuplicateKeyProblem = Position & {
  kind: 'duplicateKey';
  key: string;
  pointer: string;
  first: Position;
};

export class JsonText {
  private readonly lineStarts: number[];

  private constructor(
    public readonly text: string,
    public readonly root: Node | undefined,
  ) {
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
  }

  public static parse(text: string): {
    json: JsonText;
    syntax: SyntaxProblem[];
    /** where the nesting passes MAX_JSON_DEPTH; the text is then not parsed at all */
    tooDeep?: Position;
  } {
    // The parser, getNodeValue and ajv all recurse per level: 100k nested arrays would overflow the stack.
    const deep = depthExceededAt(text, MAX_JSON_DEPTH);
    if (deep !== undefined) {
      const unparsed = new JsonText(text, undefined);
      return { json: unparsed, syntax: [], tooDeep: unparsed.positionAt(deep) };
    }
    const errors: ParseError[] = [];
    // Strict JSON: the manifest is also read by other tools (editors, CI scripts, jq).
    const root = parseTree(text, errors, {
      disallowComments: true,
      allowTrailingComma: false,
      allowEmptyContent: false,
    });
    const json = new JsonText(text, root);
    // After the first syntax error the parser's recovery guesses; later errors are mostly echoes.
    const syntax = errors.slice(0, 1).map((error): SyntaxProblem => ({
      kind: 'syntax',
      detail: describeParseError(error),
      ...json.positionAt(error.offset),
    }));
    return { json, syntax };
  }

  public value(): unknown {
    return this.root ? (getNodeValue(this.root) as unknown) : undefined;
  }

  /** 1-based line and column of a character offset; columns count UTF-16 units, as editors do. */
  public positionAt(offset: number): Position {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (this.lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.lineStarts[low] + 1 };
  }

  /**
   * Where a pointer points: a property's key (so the user sees the name), an array item, or, for
   * something missing, the nearest enclosing value that exists.
   */
  public locate(pointer: string): Position | undefined {
    if (!this.root) return undefined;
    const segments = parsePointer(pointer);
    for (let length = segments.length; length >= 0; length--) {
      const node = this.nodeAt(segments.slice(0, length));
      if (node) {
        const anchor = node.parent?.type === 'property' && node.parent.children?.[1] === node ? node.parent : node;
        return this.positionAt(anchor.offset);
      }
    }
    return undefined;
  }

  /** JSON.parse keeps the last of two equal keys silently; a manifest author almost never means that. */
  public duplicateKeys(): DuplicateKeyProblem[] {
    const found: DuplicateKeyProblem[] = [];
    const visit = (node: Node, path: string[]): void => {
      if (node.type === 'object') {
        const seen = new Map<string, Node>();
        for (const property of node.children ?? []) {
          const keyNode = property.children?.[0];
          if (!keyNode) continue;
          const key = String(keyNode.value);
          const first = seen.get(key);
          if (first) {
            found.push({
              kind: 'duplicateKey',
              key,
              pointer: pointerOf(...path, key),
              first: this.positionAt(first.offset),
              ...this.positionAt(property.offset),
            });
          } else {
            seen.set(key, property);
          }
          const valueNode = property.children?.[1];
          if (valueNode) visit(valueNode, [...path, key]);
        }
      } else if (node.type === 'array') {
        (node.children ?? []).forEach((child, index) => visit(child, [...path, String(index)]));
      }
    };
    if (this.root) visit(this.root, []);
    return found;
  }

  private nodeAt(segments: string[]): Node | undefined {
    let node = this.root;
    for (const segment of segments) {
      if (!node) return undefined;
      // jsonc-parser wants array indexes as numbers, and a pointer only has strings.
      const step = node.type === 'array' && /^\d+$/.test(segment) ? Number(segment) : segment;
      node = findNodeAtLocation(node, [step]);
    }
    return node;
  }
}

/** Far deeper than any manifest (about six levels), far shallower than any stack. */
export const MAX_JSON_DEPTH = 64;

/** Offset of the bracket that opens level max + 1, outside strings; undefined when none does. */
function depthExceededAt(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** "PropertyNameExpected" → "property name expected" */
function describeParseError(error: ParseError): string {
  return printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
