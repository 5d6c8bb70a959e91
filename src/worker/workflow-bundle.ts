import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import type { Logger } from '../logger';

/**
 * Where `npm run build` writes the workflow bundle: next to the compiled worker (dist/src/worker). Run from the
 * TypeScript sources (tsx, development) this names a file in src/worker that does not exist, so the worker bundles.
 */
export const PREBUILT_WORKFLOW_BUNDLE = join(__dirname, 'workflows.bundle.js');

/** Bundles workflows (with an inline source map), with webpack's chatter kept at debug level. */
export function bundleWorkflows(logger: Logger): Promise<WorkflowBundle> {
  const log = (level: 'debug' | 'warn' | 'error') => (message: string) => logger[level](message);
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace: log('debug'), debug: log('debug'), info: log('debug'), warn: log('warn'), error: log('error'), log: log('debug') },
  });
}

/**
 * The worker's workflow code: the bundle at `path` (WORKFLOW_BUNDLE_PATH, which must exist), else the one the build
 * put next to the compiled worker, else workflows bundled now (development, where that takes a few seconds).
 */
export async function loadWorkflowBundle(logger: Logger, path?: string): Promise<WorkflowBundle> {
  const prebuilt = path ?? (existsSync(PREBUILT_WORKFLOW_BUNDLE) ? PREBUILT_WORKFLOW_BUNDLE : undefined);
  if (prebuilt === undefined) {
    logger.info('Bundling the workflow code (no prebuilt bundle)');
    return bundleWorkflows(logger);
  }
  if (!existsSync(prebuilt)) throw new Error(`WORKFLOW_BUNDLE_PATH ${prebuilt} does not exist: build it with npm run build, or unset it`);
  logger.info({ path: prebuilt }, 'Using the prebuilt workflow bundle');
  return { code: readFileSync(prebuilt, 'utf8') };
}
