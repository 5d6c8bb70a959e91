/**
 * Replays recorded workflow histories (test/workflows/histories) against the current workflow code. Workflows
 * live for months while code is deployed under them: a change that would make a running workflow take another
 * path fails here, and then needs `patched()`. Every workflow the worker registers needs at least one history.
 * To record another history from a running system:
 *   .tools/bin/temporal workflow show -w <workflowId> --output json > test/workflows/histories/<name>.json
 * or, from a test against the harness's dev server (same proto-JSON form):
 *   const history = await client.workflow.getHandle(workflowId).fetchHistory();
 *   writeFileSync(file, JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)); // @temporalio/common/lib/proto-utils
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';
import { workflowBundle } from '../support/harness';

const HISTORIES = join(__dirname, 'histories');
const recorded = readdirSync(HISTORIES).filter((file) => file.endsWith('.json'));

const load = (file: string): unknown => JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));

/** The workflow type of a history, from its first event (WorkflowExecutionStarted), in proto-JSON. */
function workflowTypeOf(file: string): string | undefined {
  const history = load(file) as {
    events?: { eventType?: string; workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
  };
  const [first] = history.events ?? [];
  if (first?.eventType !== 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED') return undefined;
  return first.workflowExecutionStartedEventAttributes?.workflowType?.name;
}

it('has a recorded history of every workflow the worker registers', () => {
  const covered = new Set(recorded.map(workflowTypeOf));
  const registered = Object.entries(workflows).flatMap(([name, value]) => (typeof value === 'function' ? [name] : []));
  const uncovered = registered.filter((name) => !covered.has(name));
  expect(registered.length).toBeGreaterThan(0);
  expect(uncovered).toEqual([]);
});

it.each(recorded)('replays %s without a determinism error', async (file) => {
  await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, load(file), file)).resolves.toBeUndefined();
});
