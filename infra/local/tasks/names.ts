// Resource names of Cloud Tasks v2, with the character rules the API enforces.
import { randomInt } from 'node:crypto';

const PROJECT = '[A-Za-z0-9:.-]{1,100}';
const LOCATION = '[A-Za-z0-9-]{1,63}';
const QUEUE = '[A-Za-z0-9-]{1,100}';
const TASK = '[A-Za-z0-9_-]{1,500}';

const LOCATION_NAME = new RegExp(`^projects/(${PROJECT})/locations/(${LOCATION})$`);
const QUEUE_NAME = new RegExp(`^projects/(${PROJECT})/locations/(${LOCATION})/queues/(${QUEUE})$`);
const TASK_NAME = new RegExp(
  `^(projects/${PROJECT}/locations/${LOCATION}/queues/${QUEUE})/tasks/(${TASK})$`,
);
const QUEUE_ID = new RegExp(`^${QUEUE}$`);

export interface QueueName {
  /** projects/P/locations/L/queues/Q */
  name: string;
  project: string;
  location: string;
  /** Q */
  id: string;
}

export interface TaskName {
  /** projects/P/locations/L/queues/Q/tasks/T */
  name: string;
  queue: string;
  /** T */
  id: string;
}

export function isLocationName(name: string): boolean {
  return LOCATION_NAME.test(name);
}

export function parseQueueName(name: string): QueueName | undefined {
  const match = QUEUE_NAME.exec(name);
  if (!match) return undefined;
  return { name, project: match[1]!, location: match[2]!, id: match[3]! };
}

export function parseTaskName(name: string): TaskName | undefined {
  const match = TASK_NAME.exec(name);
  if (!match) return undefined;
  return { name, queue: match[1]!, id: match[2]! };
}

export function isQueueId(id: string): boolean {
  return QUEUE_ID.test(id);
}

export function queueName(project: string, location: string, id: string): string {
  return `projects/${project}/locations/${location}/queues/${id}`;
}

/** Like Cloud Tasks' own: a long decimal number. */
export function generateTaskId(): string {
  return `${randomInt(1, 10)}${Array.from({ length: 18 }, () => randomInt(0, 10)).join('')}`;
}
