export * from './mirrors.ts';
export * from './packages.ts';
export * from './kernels.ts';
export * from './modules.ts';
export * from './verdicts.ts';
export * from './alerts.ts';
export * from './webhooks.ts';
export * from './jobs.ts';
