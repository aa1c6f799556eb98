import { findEmulatorLauncher } from '../../infra/local/firestore-emulator';
import { createTestFirestore } from '../support/firestore';

describe('findEmulatorLauncher', () => {
  it('takes VMCI_FIRESTORE_EMULATOR when it names a file, and says so in one line when not', () => {
    expect(findEmulatorLauncher({ VMCI_FIRESTORE_EMULATOR: __filename })).toBe(__filename);
    expect(() => findEmulatorLauncher({ VMCI_FIRESTORE_EMULATOR: '/no/such/emulator' })).toThrow(
      'VMCI_FIRESTORE_EMULATOR is /no/such/emulator, which does not exist.',
    );
  });
});

describe('the Firestore emulator harness', () => {
  const fs = createTestFirestore();
  afterAll(() => fs.close());

  it('talks to the real emulator, which serializes racing transactions', async () => {
    const ref = fs.db.collection('counters').doc('c');
    await ref.set({ n: 0 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        fs.db.runTransaction(async (tx) => {
          const snap = await tx.get(ref);
          tx.update(ref, { n: (snap.get('n') as number) + 1 });
        }),
      ),
    );
    expect((await ref.get()).get('n')).toBe(10);
  });

  it('clear() removes the project data', async () => {
    await fs.db.collection('x').doc('y').set({ a: 1 });
    await fs.clear();
    expect((await fs.db.collection('x').doc('y').get()).exists).toBe(false);
  });
});
