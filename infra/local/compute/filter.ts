// The `filter` of Compute list calls, as far as vm-ci and people use it:
//   labels.vmci = "true"          equality (`!=`, `<`, `>`, `<=`, `>=` too), quoted or bare
//   labels.owner:*                the field is present
//   name eq 'vmci-.*'             legacy RE2-style match of the whole value (`ne` negates)
//   a = 1 AND b = 2, a OR b, NOT a, -a, (a) (b)   (juxtaposition means AND)
// Fields are dotted paths into the instance JSON (`labels.x`, `status`,
// `scheduling.automaticRestart`). Anything else is rejected with Compute's 400.
import { invalidField } from './api';

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; expr: Node }
  | { kind: 'cmp'; field: string; op: string; value: string };

type Token = { type: 'word' | 'string' | 'op' | '(' | ')'; text: string };

const OPS = ['!=', '>=', '<=', '=', ':', '<', '>'];

function tokenize(input: string, fail: () => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')') {
      tokens.push({ type: c, text: c });
      i += 1;
    } else if (c === '"' || c === "'") {
      let text = '';
      i += 1;
      while (i < input.length && input[i] !== c) {
        if (input[i] === '\\' && i + 1 < input.length) i += 1;
        text += input[i];
        i += 1;
      }
      if (i >= input.length) fail();
      i += 1;
      tokens.push({ type: 'string', text });
    } else {
      const op = OPS.find((o) => input.startsWith(o, i));
      if (op) {
        tokens.push({ type: 'op', text: op });
        i += op.length;
      } else {
        const m = /^[^\s()"'=!:<>]+/.exec(input.slice(i));
        if (!m) fail();
        tokens.push({ type: 'word', text: m[0] });
        i += m[0].length;
      }
    }
  }
  return tokens;
}

export type Predicate = (resource: unknown) => boolean;

/** Parses a list filter; an empty one matches everything. Throws Compute's 400 on bad syntax. */
export function parseFilter(filter: string | null): Predicate {
  if (!filter || filter.trim() === '') return () => true;
  const fail = (): never => {
    throw invalidField('filter', filter, 'Invalid list filter expression.');
  };
  const tokens = tokenize(filter, fail);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.type === 'word' && t.text === w;

  const parseOr = (): Node => {
    let left = parseAnd();
    while (isWord(peek(), 'OR')) {
      pos += 1;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Node => {
    let left = parseUnary();
    for (;;) {
      const t = peek();
      if (!t || t.type === ')' || isWord(t, 'OR')) return left;
      if (isWord(t, 'AND')) pos += 1;
      left = { kind: 'and', left, right: parseUnary() };
    }
  };
  const parseUnary = (): Node => {
    const t = peek();
    if (isWord(t, 'NOT')) {
      pos += 1;
      return { kind: 'not', expr: parseUnary() };
    }
    if (t?.type === 'word' && t.text.startsWith('-') && t.text.length > 1) {
      t.text = t.text.slice(1);
      return { kind: 'not', expr: parseUnary() };
    }
    if (t?.type === '(') {
      pos += 1;
      const inner = parseOr();
      if (peek()?.type !== ')') fail();
      pos += 1;
      return inner;
    }
    return parseComparison();
  };
  const parseComparison = (): Node => {
    const field = tokens[pos];
    const op = tokens[pos + 1];
    const value = tokens[pos + 2];
    if (field?.type !== 'word' || !/^[A-Za-z_][\w.-]*$/.test(field.text)) return fail();
    const legacy = isWord(op, 'eq') || isWord(op, 'ne');
    if (!op || (op.type !== 'op' && !legacy)) return fail();
    if (!value || (value.type !== 'word' && value.type !== 'string')) return fail();
    pos += 3;
    return { kind: 'cmp', field: field.text, op: op.text, value: value.text };
  };

  const tree = parseOr();
  if (pos !== tokens.length) fail();
  return (resource) => evaluate(tree, resource, fail);
}

function lookup(resource: unknown, path: string): unknown {
  let value: unknown = resource;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function compare(actual: unknown, op: string, expected: string, fail: () => never): boolean {
  if (op === ':' && expected === '*') return actual !== undefined && actual !== null;
  if (actual === undefined || actual === null) return op === '!=' || op === 'ne';
  if (typeof actual === 'object') return false;
  const text = String(actual);
  switch (op) {
    case '=':
    case ':':
      return text === expected;
    case '!=':
      return text !== expected;
    case 'eq':
    case 'ne': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${expected})$`);
      } catch {
        return fail();
      }
      return re.test(text) === (op === 'eq');
    }
    default: {
      const a = Number(text);
      const b = Number(expected);
      const numeric = text !== '' && expected !== '' && !Number.isNaN(a) && !Number.isNaN(b);
      const order = numeric ? Math.sign(a - b) : text < expected ? -1 : text > expected ? 1 : 0;
      if (op === '<') return order < 0;
      if (op === '>') return order > 0;
      if (op === '<=') return order <= 0;
      return order >= 0;
    }
  }
}

function evaluate(node: Node, resource: unknown, fail: () => never): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, resource, fail) && evaluate(node.right, resource, fail);
    case 'or':
      return evaluate(node.left, resource, fail) || evaluate(node.right, resource, fail);
    case 'not':
      return !evaluate(node.expr, resource, fail);
    case 'cmp':
      return compare(lookup(resource, node.field), node.op, node.value, fail);
  }
}
