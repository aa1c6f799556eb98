// Mutations of real JSON payloads for the fuzz suite: one change at a random
// place of the tree (a field deleted, nulled, retyped, made huge or deep, or a
// `__proto__` / `constructor` key added), serialised to the bytes sent.
import type { Random } from './random';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

export const MUTATIONS = [
  'delete',
  'null',
  'retype',
  'huge string',
  'deep nesting',
  '__proto__ key',
  'constructor key',
  'odd text',
  'odd number',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Serialised in place of a marker: JSON.stringify would recurse this deep. */
const DEEP = /"~vmci-fuzz-deep:(\d+)~"/g;

/** Every place in the tree, depth first, at most `limit` of them. */
function placesOf(value: Json, limit = 5_000): Path[] {
  const out: Path[] = [];
  const walk = (node: Json, path: Path) => {
    if (out.length >= limit) return;
    out.push(path);
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...path, i]));
    else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    }
  };
  walk(value, []);
  return out;
}

function parentOf(root: Json, path: Path): { parent: Json; key: string | number } | undefined {
  if (path.length === 0) return undefined;
  let node: Json = root;
  for (const step of path.slice(0, -1)) node = (node as Record<string, Json>)[step as string]!;
  return { parent: node, key: path[path.length - 1]! };
}

function oddText(random: Random): string {
  return random.pick([
    '',
    ' ',
    '\u0000',
    '\ud800', // a lone surrogate
    '<img src=x onerror=alert(1)></script>',
    '../../etc/passwd',
    'refs/heads/' + 'a'.repeat(300),
    '${jndi:ldap://x}',
    '\u202e\u2066rtl',
    'a'.repeat(random.between(1, 5000)),
    random.text(random.between(1, 200)),
  ]);
}

function oddNumber(random: Random): number {
  return random.pick([
    -1,
    0,
    2 ** 53 + 1,
    -(2 ** 63),
    1e308,
    -1e-308,
    0.5,
    Number.MAX_SAFE_INTEGER,
  ]);
}

function replacement(mutation: Mutation, current: Json, random: Random): Json {
  switch (mutation) {
    case 'null':
      return null;
    case 'retype':
      if (typeof current === 'string') return random.pick([1, true, [], {}]);
      if (typeof current === 'number') return random.pick(['1', false, [current]]);
      if (Array.isArray(current)) return random.pick([{}, 'list', 0]);
      if (current !== null && typeof current === 'object') return random.pick([[], 'object', 1]);
      return random.pick(['x', 1, {}]);
    case 'huge string':
      return 'x'.repeat(random.between(100_000, 2_000_000));
    case 'deep nesting':
      return `~vmci-fuzz-deep:${random.between(1_000, 100_000)}~`;
    case 'odd text':
      return oddText(random);
    case 'odd number':
      return oddNumber(random);
    default:
      return current;
  }
}

/** A key whose value reaches the prototype if anything merges it naively. */
function addPrototypeKey(node: Json, mutation: Mutation): boolean {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
  const value: Json =
    mutation === '__proto__ key'
      ? { polluted: 'yes', toString: 'x', isAdmin: true }
      : { prototype: { polluted: 'yes' } };
  // defineProperty: an own, enumerable `__proto__` that JSON.stringify writes out.
  Object.defineProperty(node, mutation === '__proto__ key' ? '__proto__' : 'constructor', {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return true;
}

/** `payload` with one mutation applied somewhere, as the UTF-8 bytes to send. */
export function mutatePayload(
  payload: Record<string, unknown>,
  random: Random,
): { body: Buffer; mutation: Mutation; path: string } {
  const root = structuredClone(payload) as Json;
  const mutation = random.pick(MUTATIONS);
  const places = placesOf(root);
  let path: Path;
  if (mutation === '__proto__ key' || mutation === 'constructor key') {
    const objects = places.filter((p) => {
      const found = p.reduce<Json>((node, step) => (node as Record<string, Json>)[step]!, root);
      return found !== null && typeof found === 'object' && !Array.isArray(found);
    });
    path = random.pick(objects);
    const target = path.reduce<Json>((node, step) => (node as Record<string, Json>)[step]!, root);
    addPrototypeKey(target, mutation);
  } else {
    path = random.pick(places.length > 1 ? places.slice(1) : places);
    const at = parentOf(root, path);
    if (at) {
      const container = at.parent as Record<string | number, Json>;
      if (mutation === 'delete') {
        if (Array.isArray(container)) container.splice(at.key as number, 1);
        else delete container[at.key];
      } else {
        container[at.key] = replacement(mutation, container[at.key]!, random);
      }
    }
  }
  const text = JSON.stringify(root).replace(DEEP, (_, depth: string) => {
    const n = Number(depth);
    return '['.repeat(n) + ']'.repeat(n);
  });
  return { body: Buffer.from(text, 'utf8'), mutation, path: path.join('.') };
}
