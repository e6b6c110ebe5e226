// RemotingServer + RemotingClient over real loopback sockets: bad input closes only the
// offending connection, responses are matched by opaque, unknown codes, oneway, timeouts
// and reconnecting after a server restart.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { ResponseCode, SerializeType } from '../../protocol/codes.js';
import { encodeFrame } from '../../protocol/frameCodec.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { RemotingServer } from '../../protocol/remotingServer.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/waitFor.js';

const ECHO = 900;
const DELAYED_ECHO = 901;
const NEVER = 902;
const ONEWAY_SEEN = 903;
const THROWS = 904;

let server: RemotingServer;
let port: number;
let watcher: RemotingClient;
const onewayBodies: string[] = [];

function startServer(listenPort = 0): Promise<number> {
  server = new RemotingServer();
  server.registerProcessor(ECHO, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, { echo: request.extFields?.value ?? '' }, request.body));
  server.registerProcessor(DELAYED_ECHO, (request) => new Promise<RemotingCommand>((resolve) => {
    setTimeout(() => resolve(createResponse(request, ResponseCode.SUCCESS, undefined, { echo: request.extFields?.value ?? '' })), Number(request.extFields?.delayMs ?? 0));
  }));
  server.registerProcessor(NEVER, () => null);
  server.registerProcessor(ONEWAY_SEEN, (request) => {
    onewayBodies.push(request.body?.toString() ?? '');
    return createResponse(request, ResponseCode.SUCCESS, 'a oneway request must not get this');
  });
  server.registerProcessor(THROWS, () => {
    throw new Error('processor exploded');
  });
  return server.listen(listenPort, '127.0.0.1');
}

async function echo(client: RemotingClient, value: string): Promise<string | undefined> {
  const response = await client.invoke(createRequest(ECHO, { value }), 2000);
  return response.extFields?.echo;
}

/** Opens a raw socket, writes `bytes`, and resolves how the server ended it (bounded wait). */
function rawExchange(bytes: Buffer[], options: { destroyAfterWrite?: boolean } = {}): Promise<{ closedByServer: boolean; received: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server did not close the connection within 3 s'));
    }, 3000);
    socket.on('data', (chunk) => (received += chunk.length));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closedByServer: !options.destroyAfterWrite, received });
    });
    socket.on('connect', () => {
      for (const chunk of bytes) socket.write(chunk);
      if (options.destroyAfterWrite) setTimeout(() => socket.destroy(), 20);
    });
  });
}

/** A frame with a correct length prefix; the mark says `serializeType` and `headerLength` (default: the real one). */
function frameWithHeader(serializeType: number, header: Buffer, headerLength = header.length, body = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(8 + header.length + body.length);
  out.writeInt32BE(4 + header.length + body.length, 0);
  out.writeInt32BE(((serializeType << 24) | headerLength) | 0, 4);
  header.copy(out, 8);
  body.copy(out, 8 + header.length);
  return out;
}

before(async () => {
  port = await startServer();
  watcher = new RemotingClient(`127.0.0.1:${port}`);
  assert.equal(await echo(watcher, 'hello'), 'hello');
});

after(async () => {
  watcher.close();
  await server.close();
});

const badInputs: Array<{ name: string; bytes: () => Buffer[]; destroyAfterWrite?: boolean }> = [
  { name: 'garbage bytes', bytes: () => [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')] },
  { name: 'a 2 GiB length prefix', bytes: () => [Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0])] },
  { name: 'a length just above the 16 MiB frame limit', bytes: () => [Buffer.from([0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0])] },
  { name: 'a JSON header that is not JSON', bytes: () => [frameWithHeader(0, Buffer.from('{"code":310,'))] },
  { name: 'a JSON header without a numeric code', bytes: () => [frameWithHeader(0, Buffer.from('{"code":"310"}'))] },
  { name: 'an unknown serialize type', bytes: () => [frameWithHeader(2, Buffer.from('{"code":310}'))] },
  { name: 'a header length beyond the frame', bytes: () => [frameWithHeader(0, Buffer.from('{"code":310}'), 0x00ffffff)] },
  { name: 'a truncated binary header', bytes: () => [frameWithHeader(1, Buffer.from([0, 10, 0, 1, 0x91]))] },
  {
    name: 'a client disconnecting mid-frame',
    bytes: () => [encodeFrame(createRequest(ECHO, { value: 'x' }, Buffer.alloc(1000))).subarray(0, 500)],
    destroyAfterWrite: true,
  },
];

for (const bad of badInputs) {
  test(`bad input (${bad.name}) closes only that connection; another client keeps getting answers`, { timeout: 10_000 }, async () => {
    const before = server.connectionCount;
    const inFlight = watcher.invoke(createRequest(DELAYED_ECHO, { value: 'during', delayMs: '50' }), 2000);
    const result = await rawExchange(bad.bytes(), { destroyAfterWrite: bad.destroyAfterWrite });
    assert.equal(result.received, 0, 'no response to bad input');
    assert.equal((await inFlight).extFields?.echo, 'during');
    assert.equal(await echo(watcher, bad.name), bad.name);
    assert.ok(watcher.isConnected);
    await waitFor(() => server.connectionCount === before, 'the bad connection to go while the good one stays', 1000);
  });
}

test('a valid frame followed by garbage on the same connection: the valid request is answered before the close', { timeout: 10_000 }, async () => {
  const good = encodeFrame({ ...createRequest(ECHO, { value: 'first' }), serializeType: SerializeType.ROCKETMQ });
  const result = await rawExchange([Buffer.concat([good, Buffer.from([0xff, 0xff, 0xff, 0xff])])]);
  assert.ok(result.received > 0, 'the first request got its response');
  assert.equal(await echo(watcher, 'still'), 'still');
});

test('1000 in-flight requests on one connection are matched to their responses by opaque', { timeout: 10_000 }, async () => {
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    const client = new RemotingClient(`127.0.0.1:${port}`, { serializeType });
    try {
      const values = Array.from({ length: 1000 }, (_, i) => `v${i}`);
      // Random delays make the server answer out of order.
      const responses = await Promise.all(values.map((value, i) =>
        client.invoke(createRequest(DELAYED_ECHO, { value, delayMs: String((i * 7919) % 40) }), 5000)));
      assert.deepEqual(responses.map((r) => r.extFields?.echo), values);
      assert.ok(responses.every((r) => r.serializeType === serializeType), 'responses echo the request serialize type');
    } finally {
      client.close();
    }
  }
});

test('an unknown request code is answered with REQUEST_CODE_NOT_SUPPORTED (3) and a remark', { timeout: 10_000 }, async () => {
  const response = await watcher.invoke(createRequest(4242), 2000);
  assert.equal(response.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  assert.match(response.remark ?? '', /request type 4242 not supported/);
});

test('a throwing processor answers SYSTEM_ERROR with the message and keeps the connection', { timeout: 10_000 }, async () => {
  const response = await watcher.invoke(createRequest(THROWS), 2000);
  assert.equal(response.code, ResponseCode.SYSTEM_ERROR);
  assert.match(response.remark ?? '', /processor exploded/);
  assert.equal(await echo(watcher, 'after-throw'), 'after-throw');
});

test('a oneway request is processed and gets no response', { timeout: 10_000 }, async () => {
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('connect', () => {
      const oneway = createRequest(ONEWAY_SEEN, undefined, Buffer.from('ping-oneway'));
      oneway.flag = 2;
      // Then a normal request: its response proves the oneway one was processed first and not answered.
      socket.write(Buffer.concat([encodeFrame(oneway), encodeFrame(createRequest(ECHO, { value: 'sync' }))]));
      setTimeout(() => {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }, 200);
    });
  });
  assert.deepEqual(onewayBodies, ['ping-oneway']);
  const frames: number[] = [];
  for (let p = 0; p + 4 <= raw.length; p += 4 + raw.readInt32BE(p)) frames.push(p);
  assert.equal(frames.length, 1, 'exactly one response: the one for the normal request');
  assert.match(raw.toString('latin1'), /"echo":"sync"/);
  // The client API: invokeOneway resolves without waiting for anything.
  await watcher.invokeOneway(createRequest(ONEWAY_SEEN, undefined, Buffer.from('via-client')));
  await waitFor(() => onewayBodies.length >= 2, 'the second oneway request', 1000);
  assert.deepEqual(onewayBodies, ['ping-oneway', 'via-client']);
});

test('a request without an answer rejects with code TIMEOUT; the connection stays usable', { timeout: 10_000 }, async () => {
  const started = Date.now();
  await assert.rejects(watcher.invoke(createRequest(NEVER), 150), (error: unknown) => error instanceof FlushbenchError && error.code === 'TIMEOUT');
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 140 && elapsed < 1500, `timed out after ${elapsed} ms`);
  assert.equal(await echo(watcher, 'after-timeout'), 'after-timeout');
});

test('connecting to a closed port rejects with a connection error, not a hang', { timeout: 10_000 }, async () => {
  const closedPort = await freePort();
  const client = new RemotingClient(`127.0.0.1:${closedPort}`, { connectTimeoutMs: 1000 });
  await assert.rejects(client.invoke(createRequest(ECHO), 1000), (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_ERROR');
  client.close();
});

test('pending requests reject with CONNECTION_CLOSED when the server goes away, and the client reconnects after a restart', { timeout: 10_000 }, async () => {
  const client = new RemotingClient(`127.0.0.1:${port}`, { serializeType: SerializeType.ROCKETMQ });
  try {
    assert.equal(await echo(client, 'before'), 'before');
    const pending = client.invoke(createRequest(NEVER), 5000);
    watcher.close();
    await server.close();
    await assert.rejects(pending, (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_CLOSED');
    assert.equal(client.isConnected, false);
    await assert.rejects(client.invoke(createRequest(ECHO), 1000), (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_ERROR');
    assert.equal(await startServer(port), port);
    assert.equal(await echo(client, 'after restart'), 'after restart');
    watcher = new RemotingClient(`127.0.0.1:${port}`);
  } finally {
    client.close();
  }
});
