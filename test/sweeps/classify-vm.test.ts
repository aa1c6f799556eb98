// classifyVm (DESIGN §3.4): what the expired sweep does with one labelled VM,
// from the VM and the test its metadata names. Pure: every verdict from data.
import type { VmInfo } from '../../shared/compute/port';
import { deploymentLabel, testLabel, VM_LABEL_KEYS, vmLabels } from '../../shared/domain/naming';
import {
  LIVE_STATUSES,
  TERMINAL_STATUSES,
  type TestRecord,
  type TestStatus,
} from '../../shared/domain/test';
import { classifyVm } from '../../shared/sweeps/classify-vm';
import { testRecord } from '../contracts/store/fixtures';
import { at, OTHER_ZONE, vmOf } from './support';

const GRACE_MS = 10 * 60_000;
const NOW = at(60);
const ID = 'ccextractor-ccextractor-aaaaaaa-linux-push-r1-0123456789abcdef';
const OWN = vmOf(ID);

function vm(overrides: Partial<VmInfo> = {}): VmInfo {
  return {
    name: OWN.name,
    zone: OWN.zone,
    status: 'RUNNING',
    labels: { ...vmLabels('linux', ID) },
    testId: ID,
    provisioning: 'STANDARD',
    // Old enough that youth never decides a case unless a test says so.
    createdAt: new Date(NOW.getTime() - 2 * GRACE_MS),
    ...overrides,
  };
}

function test(status: TestStatus, overrides: Partial<TestRecord> = {}): TestRecord {
  return testRecord({ id: ID, status, instance: OWN, ...overrides });
}

const deletion = (overrides: Partial<NonNullable<TestRecord['deletion']>> = {}) => ({
  name: OWN.name,
  zone: OWN.zone,
  requestedAt: at(5),
  attempts: 1,
  doneAt: null,
  nextCheckAt: at(7),
  ...overrides,
});

const classify = (v: VmInfo, t: TestRecord | null, now = NOW) => classifyVm(v, t, now, GRACE_MS);

describe('classifyVm', () => {
  describe('a VM that names no test of ours is deleted', () => {
    it('no test id in its metadata', () => {
      const { testId: _omitted, ...noId } = vm();
      expect(classify(noId, test('running'))).toEqual({ action: 'delete', why: 'no_test_id' });
      expect(classify(vm({ testId: '' }), test('running'))).toEqual({
        action: 'delete',
        why: 'no_test_id',
      });
    });

    it('a label that is not testLabel(id): another id, none at all', () => {
      const other = vm({ labels: { ...vmLabels('linux', `${ID}-other`) } });
      expect(testLabel(`${ID}-other`)).not.toBe(testLabel(ID));
      expect(classify(other, test('running'))).toEqual({ action: 'delete', why: 'no_test_id' });

      const { [VM_LABEL_KEYS.test]: _gone, ...withoutTestLabel } = vm().labels;
      expect(classify(vm({ labels: withoutTestLabel }), test('running'))).toEqual({
        action: 'delete',
        why: 'no_test_id',
      });
    });

    it('youth does not save a VM without a test id or with a forged label', () => {
      const young = { createdAt: NOW };
      const { testId: _omitted, ...noId } = vm(young);
      expect(classify(noId, test('starting'))).toMatchObject({ action: 'delete' });
      const forged = vm({ ...young, labels: { ...vm().labels, [VM_LABEL_KEYS.test]: 'x' } });
      expect(classify(forged, test('starting'))).toMatchObject({ action: 'delete' });
    });
  });

  it('its test does not exist: delete, young or old', () => {
    expect(classify(vm(), null)).toEqual({ action: 'delete', why: 'test_missing' });
    expect(classify(vm({ createdAt: NOW }), null)).toEqual({
      action: 'delete',
      why: 'test_missing',
    });
  });

  describe('its test ended', () => {
    it.each(TERMINAL_STATUSES)(
      '%s with this VM’s deletion recorded and not done: kept for the deletion path',
      (status) => {
        expect(classify(vm(), test(status, { deletion: deletion() }))).toEqual({
          action: 'keep',
          why: 'deletion_recorded',
        });
      },
    );

    it('a recorded deletion that was given up (no next check) is still the deletion path’s', () => {
      const givenUp = deletion({ attempts: 12, nextCheckAt: null });
      expect(classify(vm(), test('error', { deletion: givenUp }))).toEqual({
        action: 'keep',
        why: 'deletion_recorded',
      });
    });

    it.each(TERMINAL_STATUSES)('%s with the deletion done: the VM came back, delete', (status) => {
      const done = deletion({ doneAt: at(8), nextCheckAt: null });
      expect(classify(vm(), test(status, { deletion: done }))).toEqual({
        action: 'delete',
        why: 'test_ended',
      });
    });

    it('the deletion done since the VMs were listed: nothing left to delete, kept', () => {
      // classifyVm's time is when the VMs were listed: a deletion noted done at
      // or after it deleted the VM the listing still shows.
      const listedAt = NOW;
      const doneSince = deletion({ doneAt: listedAt, nextCheckAt: null });
      const doneLater = deletion({ doneAt: new Date(listedAt.getTime() + 1), nextCheckAt: null });
      const doneBefore = deletion({ doneAt: new Date(listedAt.getTime() - 1), nextCheckAt: null });
      expect(classify(vm(), test('passed', { deletion: doneSince }), listedAt)).toEqual({
        action: 'keep',
        why: 'deleted_since_listed',
      });
      expect(classify(vm(), test('passed', { deletion: doneLater }), listedAt)).toEqual({
        action: 'keep',
        why: 'deleted_since_listed',
      });
      expect(classify(vm(), test('passed', { deletion: doneBefore }), listedAt)).toEqual({
        action: 'delete',
        why: 'test_ended',
      });
      // Only for this VM's deletion: another VM's, done since, saves nothing.
      const otherDoneSince = deletion({ name: vmOf(ID, 'linux', 2).name, doneAt: listedAt });
      expect(classify(vm(), test('passed', { deletion: otherDoneSince }), listedAt)).toEqual({
        action: 'delete',
        why: 'test_ended',
      });
    });

    it('the deletion recorded is of another VM (other name, or same name in another zone): delete', () => {
      const otherName = deletion({ name: vmOf(ID, 'linux', 2).name });
      const otherZone = deletion({ zone: OTHER_ZONE });
      expect(classify(vm(), test('canceled', { deletion: otherName }))).toEqual({
        action: 'delete',
        why: 'test_ended',
      });
      expect(classify(vm(), test('canceled', { deletion: otherZone }))).toEqual({
        action: 'delete',
        why: 'test_ended',
      });
    });

    it('no deletion recorded at all: delete, even a young VM', () => {
      expect(classify(vm({ createdAt: NOW }), test('failed', { deletion: null }))).toEqual({
        action: 'delete',
        why: 'test_ended',
      });
    });
  });

  describe('the deployment that made it', () => {
    const ours = deploymentLabel('https://ci.example.com');
    const theirs = deploymentLabel('https://staging.example.com');
    const labelled = (deployment: string) =>
      vm({ labels: { ...vmLabels('linux', ID, deployment) } });

    it('another deployment’s VM is kept whatever its test here (missing, ended)', () => {
      for (const t of [null, test('passed')]) {
        expect(classifyVm(labelled(theirs), t, NOW, GRACE_MS, ours)).toEqual({
          action: 'keep',
          why: 'other_deployment',
        });
      }
    });

    it('its own deployment’s VM, or one with no deployment label, is judged as usual', () => {
      expect(classifyVm(labelled(ours), null, NOW, GRACE_MS, ours)).toEqual({
        action: 'delete',
        why: 'test_missing',
      });
      expect(classifyVm(vm(), null, NOW, GRACE_MS, ours)).toEqual({
        action: 'delete',
        why: 'test_missing',
      });
    });
  });

  describe('its test is live', () => {
    it.each(LIVE_STATUSES)('%s test’s own VM (name and zone): kept', (status) => {
      expect(classify(vm(), test(status))).toEqual({ action: 'keep', why: 'own' });
    });

    it.each(['TERMINATED', 'STOPPED', 'SUSPENDED'])(
      'a running test’s own VM %s: end the test',
      (vmStatus) => {
        expect(classify(vm({ status: vmStatus }), test('running'))).toEqual({
          action: 'end_test',
          why: 'stopped_without_result',
        });
      },
    );

    it.each(['PROVISIONING', 'STAGING', 'RUNNING', 'STOPPING', 'REPAIRING'])(
      'a running test’s own VM %s: kept',
      (vmStatus) => {
        expect(classify(vm({ status: vmStatus }), test('running'))).toEqual({
          action: 'keep',
          why: 'own',
        });
      },
    );

    it('a starting test’s own VM that is TERMINATED is left to runTest: kept', () => {
      expect(classify(vm({ status: 'TERMINATED' }), test('starting'))).toEqual({
        action: 'keep',
        why: 'own',
      });
    });

    it('a VM of the same name in another zone is not the test’s', () => {
      const elsewhere = vm({ zone: OTHER_ZONE });
      expect(classify(elsewhere, test('running'))).toEqual({
        action: 'delete',
        why: 'not_the_test_vm',
      });
      expect(classify({ ...elsewhere, createdAt: NOW }, test('running'))).toEqual({
        action: 'keep',
        why: 'young',
      });
    });

    it.each(LIVE_STATUSES)(
      'another VM of a %s test: kept while younger than the grace, deleted after',
      (status) => {
        const other = vmOf(ID, 'linux', 2);
        const born = (ageMs: number) =>
          vm({ name: other.name, createdAt: new Date(NOW.getTime() - ageMs) });
        expect(classify(born(0), test(status))).toEqual({ action: 'keep', why: 'young' });
        expect(classify(born(GRACE_MS - 1), test(status))).toEqual({
          action: 'keep',
          why: 'young',
        });
        expect(classify(born(GRACE_MS), test(status))).toEqual({
          action: 'delete',
          why: 'not_the_test_vm',
        });
        expect(classify(born(5 * GRACE_MS), test(status))).toEqual({
          action: 'delete',
          why: 'not_the_test_vm',
        });
      },
    );

    it('a live test with no VM recorded yet: its VM is young (kept) or not the test’s (deleted)', () => {
      const starting = test('starting', { instance: null });
      expect(classify(vm({ createdAt: NOW }), starting)).toEqual({ action: 'keep', why: 'young' });
      expect(classify(vm(), starting)).toEqual({ action: 'delete', why: 'not_the_test_vm' });
    });

    it('a VM without createdAt counts as young', () => {
      const { createdAt: _none, ...ageless } = vm({ name: vmOf(ID, 'linux', 3).name });
      expect(classify(ageless, test('running'))).toEqual({ action: 'keep', why: 'young' });
      expect(classify(ageless, test('queued', { instance: null }), at(10_000))).toEqual({
        action: 'keep',
        why: 'young',
      });
    });
  });
});
