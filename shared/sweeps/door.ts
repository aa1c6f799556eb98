// The sweeps' door, the same for both: only Cloud Scheduler's service account
// may call (OIDC, as runTest; the local token in local mode), each run answers
// 200 with what it found and did, and logs the same. A run that breaks answers
// 500 and leaves everything for the next run, which starts over from the store.
import type { Request, Response } from '../http/function-app';
import type { CallerVerifier } from '../auth/caller';
import type { Logger } from '../log';
import { requestHeader } from '../runtime/request';

export interface SweepDoorDeps {
  callers: CallerVerifier;
  /** The audience the scheduler's OIDC tokens carry: this function's URL. */
  audience: string;
  /** The scheduler's service account, the only caller allowed. */
  serviceAccount: string;
  log: Logger;
}

export function makeSweepHandler<Summary extends object>(
  name: string,
  door: SweepDoorDeps,
  sweep: (log: Logger) => Promise<Summary>,
) {
  return async (req: Request, res: Response): Promise<void> => {
    const log = door.log.child({ sweep: name });
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').json({ error: 'Sweeps are started with POST.' });
      return;
    }
    const started = Date.now();
    try {
      const caller = await door.callers.verify(requestHeader(req, 'authorization'), {
        audience: door.audience,
        emails: [door.serviceAccount],
      });
      if (!caller.ok) {
        log.warn(`${name} call refused`, { status: caller.status, reason: caller.reason });
        res.status(caller.status).json({ error: caller.userMessage });
        return;
      }
      const summary = await sweep(log);
      const ms = Date.now() - started;
      log.info(`${name} done`, { summary, ms });
      res.status(200).json({ sweep: name, ms, ...summary });
    } catch (error) {
      log.error(`${name} failed`, { error, ms: Date.now() - started });
      res.status(500).json({ error: `${name} could not finish; the next run goes on from here.` });
    }
  };
}
