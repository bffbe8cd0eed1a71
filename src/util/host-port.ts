// `host:port` listen addresses (HTTP_ADDRESS, WEBHOOK_ADDRESS): `0.0.0.0:8080`, `[::]:8443`,
// `:8443` (every address, IPv4 and IPv6), port 0 for any free port.

export interface HostPort {
  /** undefined: every address. */
  host: string | undefined;
  port: number;
}

export function parseHostPort(address: string): HostPort | undefined {
  const i = address.lastIndexOf(':');
  if (i < 0) return undefined;
  const portText = address.slice(i + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return undefined;
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port };
}
