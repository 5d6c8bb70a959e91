/**
 * Records a workflow's history for the replay test (test/workflows/replay.test.ts), in the proto-JSON form
 * `temporal workflow show --output json` writes. Only when RECORD_HISTORY is set: tests that drive a workflow
 * through a shape worth replaying call it, and `RECORD_HISTORY=1 jest <that test>` refreshes the file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES = join(__dirname, '..', 'workflows', 'histories');

export async function recordHistory(temporal: Client, file: string, workflowId: string, runId?: string): Promise<void> {
  if (!process.env.RECORD_HISTORY) return;
  const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(join(HISTORIES, file), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}
