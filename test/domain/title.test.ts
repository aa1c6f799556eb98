import { commitTitle, fitTitle, TITLE_MAX } from '../../shared/domain/title';

/** True when `text` holds half of a surrogate pair. */
const hasLoneSurrogate = (text: string) =>
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);

describe('fitTitle', () => {
  it('keeps a plain title as it is, markup included (the pages escape it)', () => {
    const title = 'Fix <img src=x onerror=alert(1)> & </script> in the parser';
    expect(fitTitle(title)).toBe(title);
  });

  it('strips control characters and makes line breaks and tabs single spaces', () => {
    expect(fitTitle('  Fix\tthe\r\nparser\u0000\u0007 now\u007f\u0085 \u2028 please  ')).toBe(
      'Fix the parser now please',
    );
  });

  it('drops the bidirectional controls that could make text read backwards', () => {
    expect(fitTitle('Fix \u202egnp.exe\u202c and \u2066this\u2069')).toBe('Fix gnp.exe and this');
  });

  it('null for no text, or nothing left', () => {
    expect(fitTitle(null)).toBeNull();
    expect(fitTitle(undefined)).toBeNull();
    expect(fitTitle('')).toBeNull();
    expect(fitTitle(' \t\u0001\n ')).toBeNull();
  });

  it(`keeps ${TITLE_MAX} characters; cuts a longer title to ${TITLE_MAX} with an ellipsis`, () => {
    const exact = 'a'.repeat(TITLE_MAX);
    expect(fitTitle(exact)).toBe(exact);
    const cut = fitTitle(`${'a'.repeat(TITLE_MAX - 1)}bc`);
    expect(cut).toBe(`${'a'.repeat(TITLE_MAX - 1)}…`);
    expect(Array.from(cut!)).toHaveLength(TITLE_MAX);
  });

  it('counts and cuts by code point: no half of an emoji is left', () => {
    const emoji = '😀'.repeat(TITLE_MAX + 5); // two UTF-16 units each
    const cut = fitTitle(emoji)!;
    expect(Array.from(cut)).toHaveLength(TITLE_MAX);
    expect(cut).toBe(`${'😀'.repeat(TITLE_MAX - 1)}…`);
    expect(hasLoneSurrogate(cut)).toBe(false);
    // Exactly TITLE_MAX emoji (400 UTF-16 units) fit.
    expect(fitTitle('😀'.repeat(TITLE_MAX))).toBe('😀'.repeat(TITLE_MAX));
  });

  it('does not leave a space before the ellipsis', () => {
    expect(fitTitle(`${'a'.repeat(TITLE_MAX - 2)} bcd`)).toBe(`${'a'.repeat(TITLE_MAX - 2)}…`);
  });

  it('fitting a fitted title changes nothing', () => {
    for (const text of ['x'.repeat(500), '😀'.repeat(300), 'a\tb\u0000c', 'Fix #12']) {
      const once = fitTitle(text);
      expect(fitTitle(once)).toBe(once);
    }
  });
});

describe('commitTitle', () => {
  it('is the first line of the message', () => {
    expect(commitTitle('Fix the parser\n\nIt read past the end.\n')).toBe('Fix the parser');
    expect(commitTitle('Fix the parser\r\nDetails')).toBe('Fix the parser');
    expect(commitTitle('Fix the parser\rDetails')).toBe('Fix the parser');
  });

  it('skips blank lines before it', () => {
    expect(commitTitle('\n  \nFix the parser\nmore')).toBe('Fix the parser');
  });

  it('is fitted like any title', () => {
    expect(commitTitle(`${'b'.repeat(300)}\nbody`)).toBe(`${'b'.repeat(TITLE_MAX - 1)}…`);
    expect(commitTitle('Fix\tthe\u0000 parser')).toBe('Fix the parser');
  });

  it('null without a message, or with a blank one', () => {
    expect(commitTitle(null)).toBeNull();
    expect(commitTitle(undefined)).toBeNull();
    expect(commitTitle('')).toBeNull();
    expect(commitTitle('\n \n')).toBeNull();
  });
});
