// Free TCP ports on 127.0.0.1, from the kernel's ephemeral range so that parallel test files
// never collide on fixed numbers.
import net from 'node:net';

const PORT_SEARCH_ATTEMPTS = 50;

/** A port on 127.0.0.1 that was free a moment ago (the kernel picks it; the probe is closed). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  const port = await new Promise<number>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve((probe.address() as net.AddressInfo).port));
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port p whose p+1 (HA) and p−2 (VIP channel) are free too, as a broker needs. */
export async function freeBrokerPort(): Promise<number> {
  for (let attempt = 0; attempt < PORT_SEARCH_ATTEMPTS; attempt++) {
    const port = await freePort();
    if (port > 1024 && port < 65534 && (await canListen(port)) && (await canListen(port + 1)) && (await canListen(port - 2))) return port;
  }
  throw new Error(`no free port triple (p, p+1, p-2) on 127.0.0.1 after ${PORT_SEARCH_ATTEMPTS} attempts`);
}
