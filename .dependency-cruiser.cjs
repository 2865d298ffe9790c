/**
 * The layer boundaries of docs/architecture.md §2, checked by `npm run lint`:
 * experience never imports system, system modules never import each other or the layers above,
 * the saga's pure core imports no infrastructure, contracts import nothing but themselves and config,
 * and src/common (plain helpers every layer may use, the saga core included) imports nothing.
 */
module.exports = {
  forbidden: [
    { name: 'experience-not-to-system', severity: 'error', from: { path: '^src/experience' }, to: { path: '^src/system' } },
    { name: 'experience-not-to-process', severity: 'error', from: { path: '^src/experience' }, to: { path: '^src/process' } },
    {
      name: 'process-not-to-system',
      severity: 'error',
      comment: 'the saga talks to system modules only through Kafka',
      from: { path: '^src/process' },
      to: { path: '^src/system' },
    },
    { name: 'process-not-to-experience', severity: 'error', from: { path: '^src/process' }, to: { path: '^src/experience' } },
    { name: 'system-not-to-upper-layers', severity: 'error', from: { path: '^src/system' }, to: { path: '^src/(experience|process|order-store)' } },
    {
      name: 'system-modules-independent',
      severity: 'error',
      comment: 'inventory, payment and shipping never import each other (system/common is their common kit)',
      from: { path: '^src/system/(inventory|payment|shipping)/' },
      to: { path: '^src/system/(inventory|payment|shipping)/', pathNot: '^src/system/$1/' },
    },
    {
      name: 'order-store-users',
      severity: 'error',
      comment: 'the order records are a feature of the intake and the saga: system modules and plumbing learn about orders through Kafka',
      from: { path: '^src/', pathNot: '^src/(order-store|experience/orders|process)/' },
      to: { path: '^src/order-store/' },
    },
    { name: 'order-store-below-layers', severity: 'error', from: { path: '^src/order-store' }, to: { path: '^src/(experience|process|system)' } },
    { name: 'platform-not-to-layers', severity: 'error', from: { path: '^src/platform' }, to: { path: '^src/(experience|process|system)' } },
    {
      name: 'common-pure',
      severity: 'error',
      comment: 'every layer may import src/common',
      from: { path: '^src/common' },
      to: { path: 'node_modules|^src/', pathNot: '^src/common/' },
    },
    { name: 'contracts-pure', severity: 'error', from: { path: '^src/contracts' }, to: { path: '^src/', pathNot: '^src/(contracts|config)/' } },
    {
      name: 'saga-core-pure',
      severity: 'error',
      comment: 'the state machine is plain TypeScript',
      from: { path: '^src/process/orders/order-saga\\.ts$' },
      to: { path: 'node_modules|^src/(platform|system|experience)' },
    },
    { name: 'no-circular', severity: 'warn', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^src/(app\\.module|bootstrap|main)\\.ts$|^src/cli/' },
  },
};
