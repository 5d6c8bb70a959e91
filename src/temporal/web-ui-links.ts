/** Links into the Temporal Web UI, for people following a booking. */
import type { Config } from '../config';

export function workflowUrl(temporal: Config['temporal'], workflowId: string): string {
  return `${temporal.webUiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
