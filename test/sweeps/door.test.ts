// The sweeps' door (makeSweepHandler): only POST, only the scheduler's
// service account (the verifier's 401/403 pass through and nothing runs), a
// 200 with what the run did and one INFO line, and a 500 with one line (and an
// ERROR for Error Reporting) when the run or the check itself breaks.
import type { Request, Response } from '../../shared/http/function-app';
import type { CallerCheck, CallerExpectation, CallerVerifier } from '../../shared/auth/caller';
import type { Logger } from '../../shared/log';
import { makeSweepHandler, type SweepDoorDeps } from '../../shared/sweeps/door';
import { sweepLogs, type SweepLogs } from './support';

const AUDIENCE = 'https://ci.example.com/sweepPending';
const SCHEDULER = 'vmci-scheduler@my-ci-project.iam.gserviceaccount.com';
const TOKEN = 'Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

function request(method: string, headers: Record<string, string | string[]> = {}): Request {
  return { method, headers } as unknown as Request;
}

/** A Response that keeps what the handler set; `answer()` is what it sent, once json() was called. */
function response(): { res: Response; answer: () => Answer | undefined } {
  let answer: Answer | undefined;
  const state = { status: 200, headers: {} as Record<string, string> };
  const res = {
    status(code: number) {
      state.status = code;
      return res;
    },
    set(name: string, value: string) {
      state.headers[name.toLowerCase()] = value;
      return res;
    },
    json(body: unknown) {
      if (answer) throw new Error('answered twice');
      answer = { status: state.status, headers: { ...state.headers }, body };
      return res;
    },
  };
  return { res: res as unknown as Response, answer: () => answer };
}

interface Door {
  logs: SweepLogs;
  verifyCalls: { authorization: string | undefined; expect: CallerExpectation }[];
  call(method: string, headers?: Record<string, string | string[]>): Promise<Answer>;
}

function door(
  verify: () => Promise<CallerCheck>,
  sweep: (log: Logger) => Promise<object>,
  name = 'sweepPending',
): Door {
  const logs = sweepLogs();
  const verifyCalls: Door['verifyCalls'] = [];
  const callers: CallerVerifier = {
    verify: (authorization, expect) => {
      verifyCalls.push({ authorization, expect });
      return verify();
    },
  };
  const deps: SweepDoorDeps = {
    callers,
    audience: AUDIENCE,
    serviceAccount: SCHEDULER,
    log: logs.log,
  };
  const handler = makeSweepHandler(name, deps, sweep);
  return {
    logs,
    verifyCalls,
    async call(method, headers = { authorization: TOKEN }) {
      const { res, answer } = response();
      await handler(request(method, headers), res);
      const got = answer();
      if (!got) throw new Error('the handler answered nothing');
      return got;
    },
  };
}

const allowed = async (): Promise<CallerCheck> => ({ ok: true, email: SCHEDULER });
const SUMMARY = { lostTasks: { found: 2, done: 1, skipped: 1, errors: 0, more: false } };

describe('makeSweepHandler', () => {
  it.each(['GET', 'PUT', 'DELETE', 'HEAD'])(
    '%s: 405 with Allow: POST, the caller not checked, nothing run',
    async (method) => {
      const sweep = jest.fn(async () => SUMMARY);
      const d = door(allowed, sweep);

      const answer = await d.call(method);

      expect(answer).toEqual({
        status: 405,
        headers: { allow: 'POST' },
        body: { error: expect.any(String) },
      });
      expect(d.verifyCalls).toEqual([]);
      expect(sweep).not.toHaveBeenCalled();
    },
  );

  it.each([
    { status: 401 as const, reason: 'no bearer token', userMessage: 'Authentication required.' },
    {
      status: 403 as const,
      reason: 'email not allowed',
      userMessage: 'This caller may not run sweeps.',
    },
  ])('the verifier answers $status: passed through, the sweep not run', async (refusal) => {
    const sweep = jest.fn(async () => SUMMARY);
    const d = door(async () => ({ ok: false, ...refusal }), sweep);

    const answer = await d.call('POST');

    expect(answer).toEqual({
      status: refusal.status,
      headers: {},
      body: { error: refusal.userMessage },
    });
    expect(sweep).not.toHaveBeenCalled();
    expect(d.logs.entries).toEqual([
      expect.objectContaining({
        level: 'warn',
        labels: { sweep: 'sweepPending' },
        fields: { status: refusal.status, reason: refusal.reason },
      }),
    ]);
    expect(JSON.stringify(d.logs.lines)).not.toContain('payload.signature');
  });

  it('asks the verifier with the Authorization header, the audience and only the scheduler', async () => {
    const d = door(allowed, async () => SUMMARY);

    await d.call('POST', { authorization: TOKEN });
    await d.call('POST', { authorization: [TOKEN, 'Bearer second'] });
    await d.call('POST', {});

    const expectation = { audience: AUDIENCE, emails: [SCHEDULER] };
    expect(d.verifyCalls).toEqual([
      { authorization: TOKEN, expect: expectation },
      { authorization: TOKEN, expect: expectation },
      { authorization: undefined, expect: expectation },
    ]);
  });

  it('allowed: runs the sweep once, 200 with {sweep, ms, ...summary}, one INFO line', async () => {
    const sweep = jest.fn(async () => SUMMARY);
    const d = door(allowed, sweep, 'sweepExpired');

    const answer = await d.call('POST');

    expect(sweep).toHaveBeenCalledTimes(1);
    expect(answer).toEqual({
      status: 200,
      headers: {},
      body: { sweep: 'sweepExpired', ms: expect.any(Number), ...SUMMARY },
    });
    const { ms } = answer.body as { ms: number };
    expect(Number.isInteger(ms) && ms >= 0).toBe(true);
    expect(d.logs.entries).toEqual([
      {
        level: 'info',
        message: 'sweepExpired done',
        fields: { summary: SUMMARY, ms },
        labels: { sweep: 'sweepExpired' },
      },
    ]);
  });

  it('the sweep gets a logger whose lines carry the sweep’s name', async () => {
    const d = door(allowed, async (log) => {
      log.warn('from inside', {});
      return SUMMARY;
    });

    await d.call('POST');

    expect(d.logs.find('from inside')).toEqual([
      expect.objectContaining({ labels: { sweep: 'sweepPending' } }),
    ]);
  });

  it('a sweep that throws: 500 with one line that leaks nothing, and an ERROR with the error', async () => {
    const failure = new Error('DEADLINE_EXCEEDED: projects/my-ci-project/databases/(default)');
    const d = door(allowed, async () => {
      throw failure;
    });

    const answer = await d.call('POST');

    expect(answer.status).toBe(500);
    const { error } = answer.body as { error: string };
    expect(error).toMatch(/^[^\n]{1,140}$/);
    expect(error).toContain('sweepPending');
    expect(error).not.toContain('DEADLINE_EXCEEDED');
    expect(error).not.toContain('my-ci-project');
    expect(d.logs.entries).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'sweepPending failed',
        fields: expect.objectContaining({ error: failure, ms: expect.any(Number) }),
        labels: { sweep: 'sweepPending' },
      }),
    ]);
    expect(d.logs.lines[0]).toMatchObject({
      severity: 'ERROR',
      '@type': 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
      stack_trace: expect.stringContaining('DEADLINE_EXCEEDED'),
    });
  });

  it('a verifier that throws (signing keys unreachable): 500, the sweep not run', async () => {
    const sweep = jest.fn(async () => SUMMARY);
    const d = door(async () => {
      throw new Error('getaddrinfo ENOTFOUND www.googleapis.com');
    }, sweep);

    const answer = await d.call('POST');

    expect(answer.status).toBe(500);
    expect((answer.body as { error: string }).error).not.toContain('ENOTFOUND');
    expect(sweep).not.toHaveBeenCalled();
    expect(d.logs.entries.map((e) => e.level)).toEqual(['error']);
  });

  it('each call is independent: a failed run does not stop the next', async () => {
    let calls = 0;
    const d = door(allowed, async () => {
      calls += 1;
      if (calls === 1) throw new Error('first run broke');
      return SUMMARY;
    });

    expect((await d.call('POST')).status).toBe(500);
    expect((await d.call('POST')).status).toBe(200);
  });
});
