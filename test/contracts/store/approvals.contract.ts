// Contract: maintainers' approvals of a PR's head commits.
import type { ApprovalRecord } from '../../../shared/store/port';
import { at, useStore, type MakeStore } from './fixtures';

const SHA = 'a'.repeat(40);

function approval(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    repo: 'ccextractor/ccextractor',
    pr: 12,
    sha: SHA,
    approvedBy: 'maintainer',
    approvedAt: at(1),
    delivery: 'd-1',
    ...overrides,
  };
}

export function defineApprovalContractTests(makeStore: MakeStore): void {
  describe('approvals', () => {
    const current = useStore(makeStore);

    it('records an approval of one commit of one PR, and reads it back equal', async () => {
      const { store } = current();
      const first = approval();

      expect(await store.recordApproval(first)).toEqual({ first: true, record: first });

      const stored = await store.getApproval(first.repo, first.pr, first.sha);
      expect(stored).toEqual(first);
      expect(stored?.approvedAt).toBeInstanceOf(Date);
    });

    it('covers only that commit of that PR of that repository', async () => {
      const { store } = current();
      await store.recordApproval(approval());

      expect(await store.getApproval('ccextractor/ccextractor', 12, 'b'.repeat(40))).toBeNull();
      expect(await store.getApproval('ccextractor/ccextractor', 13, SHA)).toBeNull();
      expect(await store.getApproval('other/repo', 12, SHA)).toBeNull();
    });

    it('keeps the first approval of a commit: a later one reports it and changes nothing', async () => {
      const { store } = current();
      const first = approval();
      await store.recordApproval(first);

      const later = await store.recordApproval(
        approval({ approvedBy: 'someone-else', approvedAt: at(9), delivery: 'd-2' }),
      );

      expect(later).toEqual({ first: false, record: first });
      expect(await store.getApproval(first.repo, first.pr, first.sha)).toEqual(first);
    });

    it('10 racing approvals of one commit: exactly one is first, all see its record', async () => {
      const { store, peer } = current();

      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? store : peer()).recordApproval(approval({ delivery: `d-${i}` })),
        ),
      );

      const firsts = results.filter((r) => r.first);
      expect(firsts).toHaveLength(1);
      for (const r of results) expect(r.record).toEqual(firsts[0]!.record);
    });

    it('refuses an approval that names no PR', async () => {
      const { store } = current();
      await expect(store.recordApproval(approval({ pr: 0 }))).rejects.toThrow(RangeError);
      await expect(store.recordApproval(approval({ sha: '' }))).rejects.toThrow(RangeError);
    });
  });
}
