/** Temporal refused to start a workflow because one with that ID ran or runs already. */
export function isAlreadyStarted(error: unknown): boolean {
  // `instanceof` can fail across module copies (e.g. under jest), so the name is checked.
  return (error as Error | undefined)?.name === 'WorkflowExecutionAlreadyStartedError';
}
