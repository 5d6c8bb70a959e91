/** Links into the Temporal Web UI, for people following a booking. */
import type { Config } from '../config';

export function workflowUrl(temporal: Config['temporal'], workflowId: string): string {
  return `${namespaceUrl(temporal)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function scheduleUrl(temporal: Config['temporal'], scheduleId: string): string {
  return `${namespaceUrl(temporal)}/schedules/${encodeURIComponent(scheduleId)}`;
}

/** The list of workflows matching a visibility query, e.g. `CalendlyConnection = "<id>"`. */
export function workflowListUrl(temporal: Config['temporal'], query: string): string {
  return `${namespaceUrl(temporal)}/workflows?query=${encodeURIComponent(query)}`;
}

function namespaceUrl(temporal: Config['temporal']): string {
  return `${temporal.webUiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}`;
}
