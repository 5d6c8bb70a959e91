/**
 * The import rules of the architecture (see ARCHITECTURE.md), checked by `npm run check:architecture` in `npm test`.
 * Type-only imports count too: a circle through types is still a circle for the reader.
 */
const UPPER = '^src/(receiver|broadcaster|worker)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle hides which module is the lower one.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'workflows-import-only-the-contract',
      comment: 'Workflow code runs in a deterministic sandbox: it imports other workflow code, src/contract.ts and the workflow SDK only.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { pathNot: ['^src/workflows/', '^src/contract\\.ts$', '^node_modules/@temporalio/(workflow|common)/'] },
    },
    {
      name: 'contract-stays-a-leaf',
      comment: 'Workflows import the contract, so it may only take types from Calendly\'s schemas.',
      severity: 'error',
      from: { path: '^src/contract\\.ts$' },
      to: { path: '^src/', pathNot: '^src/calendly/schemas\\.ts$' },
    },
    {
      name: 'processes-are-composition-roots',
      comment: 'Only a process (receiver, worker) or a script wires things together; nothing below imports one.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(receiver|worker)/' },
      to: { path: '^src/(receiver|worker)/' },
    },
    {
      name: 'deliveries-do-not-reach-back-up',
      comment: 'The receiver, the scripts and the activities call deliveries; deliveries start workflows and read the delivery log.',
      severity: 'error',
      from: { path: '^src/deliveries/' },
      to: { path: [UPPER, '^src/(activities|subscriptions)/'] },
    },
    {
      name: 'activities-do-not-reach-back-up',
      comment: 'Activities are called by workflows through Temporal, never imported by them, and never import a process.',
      severity: 'error',
      from: { path: '^src/activities/' },
      to: { path: UPPER },
    },
    {
      name: 'subscriptions-stay-below-activities',
      comment: 'Managing the Calendly webhook subscription needs the Calendly client and configuration only.',
      severity: 'error',
      from: { path: '^src/subscriptions/' },
      to: { path: [UPPER, '^src/(deliveries|workflows|activities|database)/'] },
    },
    {
      name: 'database-is-the-bottom',
      comment: 'All SQL lives in src/database; it knows nothing of HTTP, Temporal or the processes above it.',
      severity: 'error',
      from: { path: '^src/database/' },
      to: { path: [UPPER, '^src/(deliveries|workflows|activities|subscriptions|auth|temporal)/'] },
    },
    {
      name: 'broadcaster-reads-the-outbox-only',
      comment: 'The broadcaster fans out outbox events; it does not reach into deliveries, workflows or activities.',
      severity: 'error',
      from: { path: '^src/broadcaster/' },
      to: { path: ['^src/(receiver|worker)/', '^src/(deliveries|workflows|activities|subscriptions)/'] },
    },
    {
      name: 'calendly-client-is-a-library',
      comment: 'The Calendly client and schemas are used by every layer and import nothing of ours but configuration types.',
      severity: 'error',
      from: { path: '^src/calendly/' },
      to: { path: '^src/', pathNot: ['^src/calendly/', '^src/config\\.ts$'] },
    },
    {
      name: 'shared-leaves-stay-low',
      comment: 'Configuration, logging, auth, Temporal connection helpers and workflow IDs are used from above, never the reverse.',
      severity: 'error',
      from: { path: ['^src/(auth|temporal)/', '^src/[^/]+\\.ts$'] },
      to: { path: [UPPER, '^src/(deliveries|workflows|activities|subscriptions|database)/'] },
    },
    {
      name: 'product-code-has-no-test-doubles',
      comment: 'src/ and the production scripts ship in the image: they never import the fake Calendly API, tests or dev tools.',
      severity: 'error',
      from: { path: ['^src/', '^scripts/', '^migrations/'], pathNot: '^scripts/dev/' },
      to: { path: ['^fake-calendly/', '^test/', '^scripts/dev/'] },
    },
    {
      name: 'fake-calendly-uses-the-real-schemas-only',
      comment: 'The fake follows the documented API through the real schemas; it must not lean on the code it stands in for.',
      severity: 'error',
      from: { path: '^fake-calendly/' },
      to: { path: '^src/', pathNot: '^src/calendly/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
