import { createLogger, REDACTED, type LoggerOptions } from '../../shared/log';

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), now: () => new Date(0), ...options });
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line in Cloud Logging shape', () => {
    const { log, lines, entries } = capture();
    log.info('webhook received', { event: 'push' });
    log.warn('slow');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    expect(entries()[0]).toEqual({
      severity: 'INFO',
      message: 'webhook received',
      time: '1970-01-01T00:00:00.000Z',
      event: 'push',
    });
    expect(entries()[1]!.severity).toBe('WARNING');
  });

  it('child loggers add labels without touching the parent', () => {
    const { log, entries } = capture({ labels: { platform: 'linux' } });
    const child = log.child({ testId: 't1', deliveryId: 'd1' });
    const grandChild = child.child({ instance: 'vmci-linux-x' });
    child.info('claimed');
    log.info('parent');
    grandChild.info('created');
    const [c, p, g] = entries();
    expect(c!['logging.googleapis.com/labels']).toEqual({
      platform: 'linux',
      testId: 't1',
      deliveryId: 'd1',
    });
    expect(p!['logging.googleapis.com/labels']).toEqual({ platform: 'linux' });
    expect(g!['logging.googleapis.com/labels']).toEqual({
      platform: 'linux',
      testId: 't1',
      deliveryId: 'd1',
      instance: 'vmci-linux-x',
    });
  });

  it('shapes errors for Error Reporting', () => {
    const { log, entries } = capture({ service: 'runTest' });
    log.error('insert failed', { error: new Error('boom', { cause: new Error('root') }) });
    const e = entries()[0]!;
    expect(e.severity).toBe('ERROR');
    expect(e['@type']).toMatch(/ReportedErrorEvent$/);
    expect(String(e.stack_trace)).toContain('Error: boom');
    expect(e.serviceContext).toEqual({ service: 'runTest' });
    expect(e.error).toMatchObject({ name: 'Error', message: 'boom', cause: { message: 'root' } });
  });

  it('does not mark warnings for Error Reporting', () => {
    const { log, entries } = capture();
    log.warn('retrying', { error: new Error('transient') });
    expect(entries()[0]!['@type']).toBeUndefined();
  });

  it('drops lines below the minimum severity', () => {
    const { log, lines } = capture({ minSeverity: 'INFO' });
    log.debug('noise');
    log.info('kept');
    expect(lines).toHaveLength(1);
  });

  describe('redaction', () => {
    const webhookSecret = 'whsec-3f9a1c77e2';
    const githubToken = 'ghp_abcdefghijklmnopqrstuvwxyz0123';

    it.each([
      { info: 'in the message', message: `signature made with ${webhookSecret}`, fields: {} },
      { info: 'in a nested field', message: 'x', fields: { req: { url: `/?t=${githubToken}` } } },
      { info: 'in an error message', message: 'x', fields: { error: new Error(githubToken) } },
      { info: 'in an array', message: 'x', fields: { list: ['a', webhookSecret] } },
    ])('blanks configured secrets $info', ({ message, fields }) => {
      const { log, lines } = capture({ secrets: [webhookSecret, githubToken] });
      log.error(message, fields);
      expect(lines[0]).not.toContain(webhookSecret);
      expect(lines[0]).not.toContain(githubToken);
      expect(lines[0]).toContain(REDACTED);
    });

    it.each(['token', 'vmciToken', 'authorization', 'privateKey', 'webhook_secret', 'password'])(
      'blanks the value of a field named %s',
      (key) => {
        const { log, entries } = capture();
        log.info('x', { nested: { [key]: 'opaque-value-123' } });
        expect(JSON.stringify(entries()[0])).not.toContain('opaque-value-123');
        expect((entries()[0]!.nested as Record<string, unknown>)[key]).toBe(REDACTED);
      },
    );

    it('blanks bearer tokens in free text', () => {
      const { log, lines } = capture();
      log.info('progress call with Authorization: Bearer abcDEF123456789xyz');
      expect(lines[0]).not.toContain('abcDEF123456789xyz');
    });

    it('blanks secrets that JSON escaping would change', () => {
      const secret = 'quote"and\\slash';
      const { log, lines } = capture({ secrets: [secret] });
      log.info(`value ${secret}`);
      expect(JSON.parse(lines[0]!).message).toBe(`value ${REDACTED}`);
    });

    it('keeps ordinary text that is not a secret', () => {
      const { log, entries } = capture({ secrets: ['abc'] });
      log.info('abc is too short to be searched for', { testId: 'x' });
      expect(entries()[0]!.message).toBe('abc is too short to be searched for');
    });
  });

  it('keeps its own severity, message and time whatever the fields are called', () => {
    const { log, entries } = capture();
    log.info('the line', { message: 'a field', severity: 'DEBUG', time: 'then' });
    expect(entries()[0]).toMatchObject({
      severity: 'INFO',
      message: 'the line',
      time: '1970-01-01T00:00:00.000Z',
    });
  });

  it('survives circular fields', () => {
    const { log, entries } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    log.info('circular', { a });
    expect((entries()[0]!.a as Record<string, unknown>).self).toBe('[Circular]');
  });
});
