// What both queue adapters derive from a task request: the task's full
// resource name and the body runTest receives.
import { taskId } from '../domain/naming';
import type { TaskRequest } from './port';

/** projects/{project}/locations/{location}/queues/{queue} */
export function queuePath(project: string, location: string, queue: string): string {
  return `projects/${project}/locations/${location}/queues/${queue}`;
}

/** `${queuePath}/tasks/${taskId(testId, generation, purpose)}`; throws RangeError for generation < 1. */
export function taskName(queue: string, request: TaskRequest): string {
  // Generation 0 means "no task yet" (TestRecord.enqueueGeneration), so it names no task.
  if (!Number.isSafeInteger(request.generation) || request.generation < 1) {
    throw new RangeError(`generation must be an integer of at least 1, got ${request.generation}`);
  }
  return `${queue}/tasks/${taskId(request.testId, request.generation, request.purpose)}`;
}

/** The JSON body of the runTest request: only the test id, runTest reads the rest. */
export function taskBody(testId: string): string {
  return JSON.stringify({ testId });
}
