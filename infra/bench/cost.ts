import type { Scenario } from './scenario';
export const costScenario: Scenario = { name: 'cost', run: async () => [] };
