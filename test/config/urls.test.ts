// Where each function is served: under one base, or one URL per function
// from a `{function}` template (one Cloud Run service each).
import { FUNCTION_NAMES, functionUrl, functionUrlOf } from '../../shared/config';
import { testStatusUrl } from '../../shared/github/publish';
import { changed, validConfig } from './fixtures';
import { parseConfig } from '../../shared/config';

describe('functionUrl', () => {
  it('a base: each function at <publicUrl>/<name>, as Cloud Functions and the local cloud serve them', () => {
    expect(FUNCTION_NAMES.map((fn) => functionUrlOf('http://localhost:8080/', fn))).toEqual([
      'http://localhost:8080/webhook',
      'http://localhost:8080/runTest',
      'http://localhost:8080/sweepPending',
      'http://localhost:8080/sweepExpired',
      'http://localhost:8080/progress',
      'http://localhost:8080/status',
    ]);
  });

  it('a template: {function} becomes the name in lower case, as Cloud Run service names must be', () => {
    const config = { publicUrl: 'https://vmci-{function}-123456789012.us-central1.run.app' };
    expect(functionUrl(config, 'runTest')).toBe(
      'https://vmci-runtest-123456789012.us-central1.run.app',
    );
    expect(functionUrl(config, 'sweepExpired')).toBe(
      'https://vmci-sweepexpired-123456789012.us-central1.run.app',
    );
    // The commit statuses link to the status function's own URL.
    expect(testStatusUrl(config.publicUrl, 'a b')).toBe(
      'https://vmci-status-123456789012.us-central1.run.app/tests/a%20b',
    );
  });

  it('the configuration takes a template, once, and checks what it makes', () => {
    const parse = (publicUrl: string) =>
      parseConfig(JSON.stringify(changed(validConfig(), ['publicUrl', publicUrl])), 'vmci.json');
    expect(parse('https://vmci-{function}-1234.us-central1.run.app/')).toMatchObject({
      ok: true,
      config: { publicUrl: 'https://vmci-{function}-1234.us-central1.run.app' },
    });
    expect(parse('https://{function}-{function}.example.com')).toMatchObject({
      ok: false,
      problems: ['publicUrl: expected {function} at most once'],
    });
    expect(parse('http://vmci-{function}.example.com')).toMatchObject({ ok: false });
  });
});
