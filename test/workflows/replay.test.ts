/**
 * Replays recorded workflow histories (test/workflows/histories) against the current workflow code. Workflows
 * live for months while code is deployed under them: a change that would make a running workflow take another
 * path fails here, and then needs `patched()`. To record another history from a running system:
 *   .tools/bin/temporal workflow show -w <workflowId> --output json > test/workflows/histories/<name>.json
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/harness';

const HISTORIES = join(__dirname, 'histories');
const recorded = readdirSync(HISTORIES).filter((file) => file.endsWith('.json'));

it('has recorded histories of every workflow path worth guarding', () => {
  expect(recorded.sort()).toEqual([
    'invitee-canceled-delivery.json',
    'invitee-created-delivery.json',
    'meeting-canceled.json',
    'meeting-reminders-sent.json',
    'meeting-reminders-skipped.json',
  ]);
});

it.each(recorded)('replays %s without a determinism error', async (file) => {
  const history: unknown = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
  await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, file)).resolves.toBeUndefined();
});
