// Public surface of the pure zos deployment model.
export * from './model.ts';
export * from './types.ts';
export * from './workload.ts';
export * from './deployment.ts';
export * from './signature.ts';
export * from './upgrade.ts';
export * from './order.ts';
export * from './ids.ts';
export { formatIP, formatIPNet, parseIP, parseIPNet, type GoIP, type GoIPNet } from './goformat.ts';
