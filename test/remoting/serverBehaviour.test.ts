// RemotingServer/RemotingClient behaviour over loopback: answers batched into few socket
// writes, backpressure (reading pauses while the peer does not read its answers), default
// processor, the server fixing opaque/flag/serialize type of answers, several ports, and
// requests sent by the server to a client (consumer notifications).
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { RequestCode, ResponseCode, SerializeType } from '../../protocol/codes.js';
import type { RemotingConnection } from '../../protocol/connection.js';
import { encodeFrame, FrameDecoder } from '../../protocol/frameCodec.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { RemotingServer } from '../../protocol/remotingServer.js';
import { waitFor } from '../support/waitFor.js';

const ECHO = 900;
const BIG = 905;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP peer that collects decoded frames. */
async function rawPeer(port: number): Promise<{ socket: net.Socket; frames: RemotingCommand[] }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const frames: RemotingCommand[] = [];
  const decoder = new FrameDecoder();
  socket.on('data', (chunk) => decoder.push(chunk, (c) => frames.push(c)));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, frames };
}

test('answers to many requests that arrive together leave in a few socket writes, not one write each', { timeout: 30_000 }, async () => {
  const server = new RemotingServer();
  server.registerProcessor(ECHO, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, { echo: request.extFields?.value ?? '' }));
  let socketWrites = 0;
  let dataEvents = 0;
  server.onConnection((connection) => {
    const socket = connection.socket as net.Socket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
    const write = socket._write.bind(socket);
    const writev = socket._writev.bind(socket);
    socket._write = (...args: unknown[]) => {
      socketWrites++;
      write(...args);
    };
    socket._writev = (...args: unknown[]) => {
      socketWrites++;
      writev(...args);
    };
    socket.on('data', () => dataEvents++);
  });
  const port = await server.listen(0);
  const peer = await rawPeer(port);
  try {
    const requests = Array.from({ length: 300 }, (_, i) => ({ ...createRequest(ECHO, { value: `v${i}` }), opaque: i + 1 }));
    peer.socket.write(Buffer.concat(requests.map(encodeFrame)));
    await waitFor(() => peer.frames.length === 300, '300 answers', 5000);
    assert.deepEqual(peer.frames.map((f) => f.opaque), requests.map((r) => r.opaque));
    assert.ok(socketWrites <= dataEvents, `${socketWrites} socket writes for ${dataEvents} incoming chunks`);
    assert.ok(socketWrites <= 30, `300 answers took ${socketWrites} socket writes`);
  } finally {
    peer.socket.destroy();
    await server.close();
  }
});

test('backpressure: a peer that does not read its answers stops being read; reading resumes after it drains', { timeout: 30_000 }, async () => {
  const server = new RemotingServer({ writeHighWaterBytes: 64 * 1024 });
  const answerBytes = 512 * 1024;
  let processed = 0;
  server.registerProcessor(BIG, (request) => {
    processed++;
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.alloc(answerBytes, 1));
  });
  let serverSide: RemotingConnection | null = null;
  server.onConnection((connection) => (serverSide = connection));
  const port = await server.listen(0);
  const peer = await rawPeer(port);
  const total = 120; // 60 MiB of answers: far more than loopback socket buffers hold
  try {
    peer.socket.pause();
    for (let i = 0; i < total; i++) {
      peer.socket.write(encodeFrame({ ...createRequest(BIG), opaque: i + 1 }));
      await sleep(1); // separate chunks, so the server can stop between them
    }
    await waitFor(() => ((serverSide as RemotingConnection | null)?.readPauses ?? 0) >= 1, 'the server to pause reading', 5000);
    const processedWhilePaused = processed;
    assert.ok(serverSide);
    assert.ok((serverSide as RemotingConnection).readPauses >= 1, 'the server paused reading');
    assert.ok(processedWhilePaused < total, `the server stopped taking requests (${processedWhilePaused} of ${total} processed)`);
    assert.ok((serverSide as RemotingConnection).socket.writableLength < 64 * 1024 + 2 * answerBytes + 16 * 1024, 'queued answers stay bounded by the high-water mark');
    peer.socket.resume();
    await waitFor(() => peer.frames.length === total, `all ${total} answers after the peer reads again`, 20_000);
    assert.equal(processed, total);
    assert.ok(peer.frames.every((f) => f.body?.length === answerBytes));
  } finally {
    peer.socket.destroy();
    await server.close();
  }
});

test('the default processor handles codes without their own; the server fixes opaque, flag and serialize type of every answer', { timeout: 30_000 }, async () => {
  const server = new RemotingServer();
  server.registerDefaultProcessor((request) => createResponse(request, ResponseCode.SUCCESS, `default got ${request.code}`));
  // A careless processor: wrong opaque, no response flag, other serialize type.
  server.registerProcessor(ECHO, (request) => ({ ...createResponse(request, ResponseCode.SUCCESS, 'careless'), opaque: 424242, flag: 0, serializeType: SerializeType.JSON }));
  const port = await server.listen(0);
  const client = new RemotingClient(`127.0.0.1:${port}`, { serializeType: SerializeType.ROCKETMQ });
  try {
    const answer = await client.invoke(createRequest(4242), 2000);
    assert.deepEqual([answer.code, answer.remark], [ResponseCode.SUCCESS, 'default got 4242']);
    const careless = await client.invoke(createRequest(ECHO), 2000);
    assert.deepEqual([careless.remark, careless.flag & 1, careless.serializeType], ['careless', 1, SerializeType.ROCKETMQ]);
  } finally {
    client.close();
    await server.close();
  }
});

test('one server listens on two ports (listenPort and listenPort - 2) and close releases both', { timeout: 30_000 }, async () => {
  const server = new RemotingServer();
  server.registerProcessor(ECHO, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, { port: String(request.extFields?.port) }));
  const first = await server.listen(0);
  const second = await server.listen(0);
  assert.notEqual(first, second);
  assert.deepEqual(server.ports, [first, second]);
  const clients = [first, second].map((port) => new RemotingClient(`127.0.0.1:${port}`));
  try {
    for (const [i, client] of clients.entries()) assert.equal((await client.invoke(createRequest(ECHO, { port: String(i) }), 2000)).extFields?.port, String(i));
    assert.equal(server.connectionCount, 2);
    await assert.rejects(server.listen(first), (error: unknown) => error instanceof FlushbenchError && error.code === 'LISTEN_FAILED');
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
  for (const port of [first, second]) {
    const probe = new RemotingClient(`127.0.0.1:${port}`, { connectTimeoutMs: 1000 });
    await assert.rejects(probe.invoke(createRequest(ECHO), 500), (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_ERROR');
    probe.close();
  }
});

test('the server can send requests to a connected client: answered by its handler (sync, async, throwing) or REQUEST_CODE_NOT_SUPPORTED', { timeout: 30_000 }, async () => {
  const server = new RemotingServer();
  server.registerProcessor(ECHO, (request) => createResponse(request, ResponseCode.SUCCESS));
  const connections: RemotingConnection[] = [];
  const closedReasons: string[] = [];
  server.onConnection((connection) => {
    connections.push(connection);
    connection.onClose((reason) => closedReasons.push(reason));
  });
  const port = await server.listen(0);
  const notified: string[] = [];
  const consumer = new RemotingClient(`127.0.0.1:${port}`, {
    onRequest: (request) => {
      if (request.code === RequestCode.NOTIFY_CONSUMER_IDS_CHANGED) {
        notified.push(request.extFields?.consumerGroup ?? '');
        return null;
      }
      if (request.code === RequestCode.GET_CONSUMER_RUNNING_INFO) return Promise.resolve(createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from('{"properties":{}}')));
      if (request.code === RequestCode.CHECK_TRANSACTION_STATE) throw new Error('no transaction listener');
      return createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, 'not here');
    },
  });
  const plain = new RemotingClient(`127.0.0.1:${port}`, { serializeType: SerializeType.ROCKETMQ });
  try {
    await consumer.invoke(createRequest(ECHO), 2000);
    await plain.invoke(createRequest(ECHO), 2000);
    await waitFor(() => connections.length === 2, 'two connections', 5000);
    const [toConsumer, toPlain] = connections;
    assert.match(toConsumer.remote, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(toConsumer.id, toPlain.id);
    toConsumer.sendOneway(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: 'g1' }));
    await waitFor(() => notified.length === 1, 'the oneway notification', 5000);
    assert.deepEqual(notified, ['g1']);
    const info = await toConsumer.invoke(createRequest(RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: 'g1' }), 2000);
    assert.deepEqual([info.code, info.body?.toString()], [ResponseCode.SUCCESS, '{"properties":{}}']);
    const failed = await toConsumer.invoke(createRequest(RequestCode.CHECK_TRANSACTION_STATE), 2000);
    assert.deepEqual([failed.code, failed.remark], [ResponseCode.SYSTEM_ERROR, 'no transaction listener']);
    const unsupported = await toPlain.invoke(createRequest(RequestCode.GET_CONSUMER_RUNNING_INFO, {}, undefined, SerializeType.ROCKETMQ), 2000);
    assert.equal(unsupported.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    assert.equal(unsupported.serializeType, SerializeType.ROCKETMQ);
    assert.match(unsupported.remark ?? '', / request type 307 not supported/);
    // The client side goes away: the server sees the close.
    plain.close();
    await waitFor(() => closedReasons.length === 1, 'the server to see the close', 5000);
    await assert.rejects(toPlain.invoke(createRequest(ECHO), 500), (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_CLOSED');
  } finally {
    consumer.close();
    plain.close();
    await server.close();
  }
});

test('server close ends every connection: pending client calls reject, and the next call reconnects only when a server is back', { timeout: 30_000 }, async () => {
  const server = new RemotingServer();
  server.registerProcessor(ECHO, () => null); // never answers
  const port = await server.listen(0);
  const client = new RemotingClient(`127.0.0.1:${port}`);
  const pending = client.invoke(createRequest(ECHO), 5000);
  await waitFor(() => server.connectionCount === 1, 'the connection', 5000);
  await server.close();
  await assert.rejects(pending, (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_CLOSED');
  assert.equal(server.connectionCount, 0);
  await assert.rejects(client.invoke(createRequest(ECHO), 500), (error: unknown) => error instanceof FlushbenchError && error.code === 'CONNECTION_ERROR');
  client.close();
});
