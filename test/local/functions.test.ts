// Functions mounted behind the local port get what a deployed function gets:
// the path below the function's name, and the raw body for its door to read.
import { join } from 'node:path';
import { mountFunctions, presentFunctions } from '../../infra/local/functions';
import { serve } from '../../infra/local/http';

const FIXTURES = join(__dirname, '../fixtures/functions');

describe('mountFunctions', () => {
  it('finds the function modules present in a folder', () => {
    expect(presentFunctions(FIXTURES)).toEqual(['status']);
  });

  it('serves a function at /<name> through the app it exports', async () => {
    const server = await serve([mountFunctions(['status'], FIXTURES)]);
    try {
      const body = '{"a": 1}';
      const res = await fetch(`${server.url}/status/tests/abc?repo=o/r`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        method: 'POST',
        path: '/tests/abc',
        query: { repo: 'o/r' },
        rawBody: body,
      });
      expect((await fetch(`${server.url}/webhook`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
