// Bind addresses. flushbench binds loopback unless told otherwise (listenHost): it has no ACL
// and no TLS, so a broker or name server reachable from other hosts is a deliberate choice.

export const DEFAULT_LISTEN_HOST = '127.0.0.1';

/** Loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
}
