// What the expired sweep does with one VM labelled `vmci`, from the VM and the
// test its metadata names (DESIGN §3.4). Pure, so every case is a unit test.
import { isOff, type VmInfo } from '../compute/port';
import { testLabel, VM_LABEL_KEYS } from '../domain/naming';
import { isTerminal, type TestRecord } from '../domain/test';

export type VmVerdict =
  /** The live test's own VM, doing its work. */
  | {
      action: 'keep';
      why: 'own' | 'young' | 'deletion_recorded' | 'deleted_since_listed' | 'other_deployment';
    }
  /** The running test's VM has shut down (a VM still going off is looked at next run) without reporting: end the test. */
  | { action: 'end_test'; why: 'stopped_without_result' }
  | { action: 'delete'; why: 'no_test_id' | 'test_missing' | 'test_ended' | 'not_the_test_vm' };

/** `listedAt`: a moment before the VMs were listed, so a test read after it is newer than the list. */
export function classifyVm(
  vm: VmInfo,
  test: TestRecord | null,
  listedAt: Date,
  graceMs: number,
  /** This deployment's `vmci-deployment` label: a VM with another one is not ours to judge. */
  deployment?: string,
): VmVerdict {
  const now = listedAt;
  const madeBy = vm.labels[VM_LABEL_KEYS.deployment];
  if (deployment !== undefined && madeBy !== undefined && madeBy !== deployment) {
    return { action: 'keep', why: 'other_deployment' };
  }
  // Creating and booting take a moment between "VM inserted" and "state written":
  // a young VM of a live test may be the one its claim is about to record.
  const young = !vm.createdAt || now.getTime() - vm.createdAt.getTime() < graceMs;
  if (!vm.testId) return { action: 'delete', why: 'no_test_id' };
  // The label is derived from the id: a VM whose two disagree was not made by runTest.
  if (vm.labels[VM_LABEL_KEYS.test] !== testLabel(vm.testId)) {
    return { action: 'delete', why: 'no_test_id' };
  }
  if (!test) return { action: 'delete', why: 'test_missing' };
  if (isTerminal(test.status)) {
    // The deletion path retries it with back-off and reports when it gives up.
    const recorded = test.deletion?.name === vm.name && test.deletion.zone === vm.zone;
    const doneAt = recorded ? test.deletion!.doneAt : null;
    if (recorded && doneAt === null) return { action: 'keep', why: 'deletion_recorded' };
    // Deleted since it was listed: nothing left to delete.
    if (doneAt && doneAt >= listedAt) return { action: 'keep', why: 'deleted_since_listed' };
    return { action: 'delete', why: 'test_ended' };
  }
  const own = test.instance?.name === vm.name && test.instance.zone === vm.zone;
  if (own) {
    if (test.status === 'running' && isOff(vm)) {
      return { action: 'end_test', why: 'stopped_without_result' };
    }
    return { action: 'keep', why: 'own' };
  }
  if (young) return { action: 'keep', why: 'young' };
  return { action: 'delete', why: 'not_the_test_vm' };
}
