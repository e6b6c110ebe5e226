// Ports for the brokers the harness launches. A RocketMQ broker uses a block of four:
// listenPort − 2 (VIP channel), listenPort − 1 (unused gap), listenPort, listenPort + 1 (HA).
import net from 'node:net';
import { FlushbenchError } from '../protocol/errors.js';

const PORT_RANGE_START = 20_000;
const PORT_RANGE_SIZE = 20_000;
const ATTEMPTS_MAX = 200;

/** True when `port` can be bound on `host` (undefined = every interface, as Apache RocketMQ binds). */
export function portFree(port: number, host: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function randomPort(): number {
  return PORT_RANGE_START + Math.floor(Math.random() * PORT_RANGE_SIZE);
}

/** A broker listenPort whose whole block is free and not in `taken` (the block is added to it). */
export async function freeBrokerPort(taken: Set<number>, host: string | undefined): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const listenPort = randomPort();
    const block = [listenPort - 2, listenPort - 1, listenPort, listenPort + 1];
    if (block.some((p) => taken.has(p))) continue;
    if ((await Promise.all(block.map((p) => portFree(p, host)))).every(Boolean)) {
      for (const p of block) taken.add(p);
      return listenPort;
    }
  }
  throw new FlushbenchError('NO_FREE_PORT', `found no free block listenPort − 2 … listenPort + 1 in ${PORT_RANGE_START}-${PORT_RANGE_START + PORT_RANGE_SIZE} on ${host ?? 'any interface'}`);
}

/** One free port not in `taken` (added to it). */
export async function freePort(taken: Set<number>, host: string | undefined): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const port = randomPort();
    if (!taken.has(port) && (await portFree(port, host))) {
      taken.add(port);
      return port;
    }
  }
  throw new FlushbenchError('NO_FREE_PORT', `found no free port in ${PORT_RANGE_START}-${PORT_RANGE_START + PORT_RANGE_SIZE} on ${host ?? 'any interface'}`);
}
