// The node's web gateway on the host: haproxy in the public namespace serving gateway routes.
export { GatewayProxy, type GatewayCertificates, type GatewayProxyOptions, type GatewayRoutes } from './proxy.ts';
export { stopHaproxy } from './haproxy.ts';
export { backendName, renderProxyConfig, type ProxyRoute } from './config.ts';
export { AcmeCertificates, LETS_ENCRYPT, ZOS_ACME_EMAIL, renewalDue, type AcmeOptions } from './acme.ts';
