// The TestStore contract: one suite that every adapter must pass
// (test/store/store.test.ts runs it on the in-memory double and on Firestore).
import { defineApprovalContractTests } from './store/approvals.contract';
import { defineBuildContractTests } from './store/builds.contract';
import { defineDeletionContractTests } from './store/deletions.contract';
import { defineDeliveryContractTests } from './store/deliveries.contract';
import type { MakeStore } from './store/fixtures';
import { defineLeaseContractTests } from './store/leases.contract';
import { defineReconcileContractTests } from './store/reconcile.contract';
import { defineRecentContractTests } from './store/recent.contract';
import { defineRecordContractTests } from './store/records.contract';
import { defineSlotContractTests } from './store/slots.contract';
import { defineStatusCheckContractTests } from './store/status-checks.contract';
import { defineTransitionContractTests } from './store/transition.contract';
import { defineWaitContractTests } from './store/waits.contract';

export type { MakeStore, StoreUnderTest } from './store/fixtures';

export function defineStoreContractTests(name: string, makeStore: MakeStore): void {
  describe(`TestStore contract (${name})`, () => {
    defineRecordContractTests(makeStore);
    defineTransitionContractTests(makeStore);
    defineSlotContractTests(makeStore);
    defineReconcileContractTests(makeStore);
    defineDeletionContractTests(makeStore);
    defineDeliveryContractTests(makeStore);
    defineApprovalContractTests(makeStore);
    defineBuildContractTests(makeStore);
    defineStatusCheckContractTests(makeStore);
    defineWaitContractTests(makeStore);
    defineLeaseContractTests(makeStore);
    defineRecentContractTests(makeStore);
  });
}
