import { bearerToken } from '../../shared/auth/bearer';

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.DEF-_~+/=', 'abc.DEF-_~+/='],
    ['bearer   tok', 'tok'],
    [' Bearer tok ', 'tok'],
    [['Bearer first', 'Bearer second'], 'first'],
  ])('%j → %s', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwdw==', 'Bearer a b', 'Bearer ä'])(
    '%j → null',
    (header) => {
      expect(bearerToken(header)).toBeNull();
    },
  );
});
