/**
 * The import rules of the architecture (see ARCHITECTURE.md), checked by `npm run check:architecture` in `npm test`.
 * Type-only imports count too: a circle through types is still a circle for the reader.
 */
const UPPER = '^src/(receiver|broadcaster|worker)/';

/** name: [why, from, to]; every rule is an error. */
const RULES = {
  'no-circular': ['An import circle hides which module is the lower one.', {}, { circular: true }],
  'workflows-import-only-the-contract': [
    'Workflow code runs in a deterministic sandbox: it imports other workflow code, src/contract.ts and the workflow SDK only.',
    { path: '^workflows/' },
    { pathNot: ['^workflows/', '^src/contract\\.ts$', '^node_modules/@temporalio/(workflow|common)/'] },
  ],
  'contract-stays-a-leaf': [
    "Workflows import the contract, so it may only take types from Calendly's schemas.",
    { path: '^src/contract\\.ts$' },
    { path: '^src/', pathNot: '^src/calendly/schemas\\.ts$' },
  ],
  'processes-are-composition-roots': [
    'Only a process (receiver, worker) or a script wires things together; nothing below imports one.',
    { path: ['^src/', '^(workflows|activities)/'], pathNot: '^src/(receiver|worker)/' },
    { path: '^src/(receiver|worker)/' },
  ],
  'deliveries-do-not-reach-back-up': [
    'The receiver, the scripts and the activities call deliveries; deliveries start workflows and read the delivery log.',
    { path: '^src/deliveries/' },
    { path: [UPPER, '^src/subscriptions/', '^activities/'] },
  ],
  'outbound-dispatches-only': [
    'Outbound webhooks: endpoints and the dispatcher start delivery workflows; the activities do the sending.',
    { path: '^src/outbound/' },
    { path: ['^src/(receiver|worker)/', '^src/(deliveries|subscriptions|calendly)/', '^activities/'] },
  ],
  'activities-do-not-reach-back-up': [
    'Activities are called by workflows through Temporal, never imported by them, and never import a process.',
    { path: '^activities/' },
    { path: UPPER },
  ],
  'subscriptions-stay-below-activities': [
    'Managing the Calendly webhook subscription needs the Calendly client and configuration only.',
    { path: '^src/subscriptions/' },
    { path: [UPPER, '^src/(deliveries|database)/', '^(workflows|activities)/'] },
  ],
  'database-is-the-bottom': [
    'All SQL lives in src/database; it knows nothing of HTTP, Temporal or the processes above it.',
    { path: '^src/database/' },
    { path: [UPPER, '^src/(deliveries|subscriptions|connections|auth|temporal|outbound)/', '^(workflows|activities)/'] },
  ],
  'connections-stay-below-activities': [
    "A connection's tokens, OAuth flow and secrets: used by the receiver, the activities and the scripts, never the reverse; " +
      'they do not reach up to the lifecycle either.',
    { path: '^src/connections/', pathNot: '^src/connections/lifecycle\\.ts$' },
    { path: [UPPER, '^src/deliveries/', '^(workflows|activities)/', '^src/connections/lifecycle\\.ts$'] },
  ],
  'connection-lifecycle-starts-workflows': [
    "A connection's lifecycle starts its set-up and teardown workflows by reference, as the deliveries start theirs: " +
      'it sits above the workflows, so the routes only map its outcomes to HTTP; it never reaches a process or the activities.',
    { path: '^src/connections/lifecycle\\.ts$' },
    { path: [UPPER, '^src/deliveries/', '^activities/'] },
  ],
  'broadcaster-reads-the-outbox-only': [
    'The broadcaster fans out outbox events; it does not reach into deliveries, workflows or activities.',
    { path: '^src/broadcaster/' },
    { path: ['^src/(receiver|worker)/', '^src/(deliveries|subscriptions|outbound)/', '^(workflows|activities)/'] },
  ],
  'calendly-client-is-a-library': [
    'The Calendly client and schemas are used by every layer and import nothing of ours but configuration and metrics helpers.',
    { path: '^src/calendly/' },
    { path: ['^src/', '^(workflows|activities)/'], pathNot: ['^src/calendly/', '^src/(config|metrics)\\.ts$'] },
  ],
  'shared-leaves-stay-low': [
    'Configuration, logging, auth, Temporal connection helpers and workflow IDs are used from above, never the reverse.',
    { path: ['^src/(auth|temporal)/', '^src/[^/]+\\.ts$'] },
    { path: [UPPER, '^src/(deliveries|subscriptions|database|outbound)/', '^(workflows|activities)/'] },
  ],
  'product-code-has-no-test-doubles': [
    'src/ and the production scripts ship in the image: they never import the fake Calendly API, tests or dev tools.',
    { path: ['^src/', '^(workflows|activities)/', '^scripts/', '^migrations/'], pathNot: '^scripts/dev/' },
    { path: ['^fake-calendly/', '^test/', '^scripts/dev/'] },
  ],
  'fake-calendly-uses-the-real-schemas-only': [
    'The fake follows the documented API through the real schemas; it must not lean on the code it stands in for.',
    { path: '^fake-calendly/' },
    { path: ['^src/', '^(workflows|activities)/'], pathNot: '^src/calendly/' },
  ],
  'not-to-unresolvable': ['Every import must resolve.', {}, { couldNotResolve: true }],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: Object.entries(RULES).map(([name, [comment, from, to]]) => ({ name, comment, severity: 'error', from, to })),
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
