// The node's web gateway on the host: haproxy in the public namespace serving gateway routes.
export { GatewayProxy, type GatewayCertificates, type GatewayProxyOptions, type GatewayRoutes } from './proxy.ts';
export { stopHaproxy } from './haproxy.ts';
export { backendName, renderProxyConfig, type ProxyRoute } from './config.ts';
