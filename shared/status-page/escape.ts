// The status pages' one way to write HTML: the `html` tagged template escapes
// every interpolated value (`&`, `<`, `>`, `"`, `'`), unless the value is a
// SafeHtml that `html` itself made. Arrays are written item by item, null,
// undefined and false as nothing. A SafeHtml cannot be made any other way, so
// text from GitHub or from test output can only ever reach a page as text.
// Attribute values are always written in double quotes by the templates.

const MADE_BY_HTML = new WeakSet<SafeHtml>();

/** HTML that `html` made: interpolated as it is. */
export class SafeHtml {
  readonly #text: string;
  private constructor(text: string) {
    this.#text = text;
  }
  /** Only this module makes them (see `html`). */
  static fromTemplate(text: string, key: typeof PRIVATE_KEY): SafeHtml {
    if (key !== PRIVATE_KEY) throw new TypeError('SafeHtml is made by html`…` only');
    const made = new SafeHtml(text);
    MADE_BY_HTML.add(made);
    return made;
  }
  toString(): string {
    return this.#text;
  }
}

const PRIVATE_KEY: unique symbol = Symbol('SafeHtml');

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML text or a double- or single-quoted attribute's value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** What may be interpolated: text and numbers are escaped; SafeHtml and lists of them are kept. */
export type HtmlValue =
  SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function write(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml && MADE_BY_HTML.has(value)) return value.toString();
  if (Array.isArray(value)) return value.map((item: HtmlValue) => write(item)).join('');
  return escapeHtml(String(value));
}

/** HTML from a template: every `${value}` escaped unless `html` made it. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += write(value) + (strings[i + 1] ?? '');
  });
  return SafeHtml.fromTemplate(out, PRIVATE_KEY);
}

/** Items joined by a separator, all escaped as `html` would. */
export function joinHtml(items: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  const parts: HtmlValue[] = [];
  items.forEach((item, i) => {
    if (i > 0) parts.push(separator);
    parts.push(item);
  });
  return html`${parts}`;
}
