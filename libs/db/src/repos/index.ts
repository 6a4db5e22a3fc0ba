export * from './alerts.ts';
export * from './blobs.ts';
export * from './kernels.ts';
export * from './mirrors.ts';
export * from './modules.ts';
export * from './packages.ts';
export * from './verdicts.ts';
export * from './webhooks.ts';
