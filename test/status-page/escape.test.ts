// The html`…` helper: every interpolation is text unless html`…` made it.
import { escapeHtml, html, joinHtml, SafeHtml } from '../../shared/status-page/escape';

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT_END = '</script><script>window.__xss=1</script>';

describe('html`…`', () => {
  it('escapes text: an <img onerror> payload is text, not an element', () => {
    const out = html`<p>${IMG}</p>`.toString();
    expect(out).toBe('<p>&lt;img src=x onerror=alert(1)&gt;</p>');
    expect(out).not.toMatch(/<img/i);
  });

  it('escapes </script> so it cannot close anything', () => {
    const out = html`<td>${SCRIPT_END}</td>`.toString();
    expect(out).not.toContain('</script');
    expect(out).not.toContain('<script');
    expect(out).toContain('&lt;/script&gt;');
  });

  it('escapes both quotes: a value cannot leave its attribute', () => {
    const value = `x" onmouseover="alert(1)' onfocus='alert(2)`;
    const out = html`<a title="${value}" data-x='${value}'>t</a>`.toString();
    expect(out).toBe(
      '<a title="x&quot; onmouseover=&quot;alert(1)&#39; onfocus=&#39;alert(2)" ' +
        "data-x='x&quot; onmouseover=&quot;alert(1)&#39; onfocus=&#39;alert(2)'>t</a>",
    );
  });

  it('escapes & so entities in the text stay text', () => {
    expect(html`${'&lt;b&gt; &amp;'}`.toString()).toBe('&amp;lt;b&amp;gt; &amp;amp;');
  });

  it('keeps what html`…` made, once: nesting does not escape twice', () => {
    const inner = html`<b>${IMG}</b>`;
    expect(html`<p>${inner}</p>`.toString()).toBe(
      '<p><b>&lt;img src=x onerror=alert(1)&gt;</b></p>',
    );
  });

  it('writes lists item by item, each escaped; null, undefined and false as nothing', () => {
    const out = html`<ul>${['<a>', html`<li>ok</li>`, null, undefined, false, 0, [IMG]]}</ul>`;
    expect(out.toString()).toBe('<ul>&lt;a&gt;<li>ok</li>0&lt;img src=x onerror=alert(1)&gt;</ul>');
  });

  it('an object that only looks like SafeHtml is escaped as text', () => {
    const fake = { toString: () => IMG } as unknown as SafeHtml;
    expect(html`${fake}`.toString()).toBe(escapeHtml(IMG));
    const forged = Object.create(SafeHtml.prototype) as SafeHtml;
    expect(() => html`${forged}`.toString()).toThrow();
  });

  it('SafeHtml cannot be made without html`…`', () => {
    expect(() =>
      (SafeHtml as unknown as { fromTemplate(t: string, k: symbol): SafeHtml }).fromTemplate(
        IMG,
        Symbol('SafeHtml'),
      ),
    ).toThrow(TypeError);
  });

  it('joinHtml separates escaped items', () => {
    expect(joinHtml(['<a>', html`<i>b</i>`], html`, `).toString()).toBe('&lt;a&gt;, <i>b</i>');
  });
});
