// RemotingConnection encodes a turn's frames back to back into a shared slab: frames must still
// reach the peer whole and in the order they were sent, when a turn fills several slabs, when a
// frame is too big for the slab, and when pre-encoded frames (sendEncoded) are interleaved.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { SerializeType } from '../../protocol/codes.js';
import { RemotingConnection } from '../../protocol/connection.js';
import { encodeFrame, FrameDecoder } from '../../protocol/frameCodec.js';
import { createRequest, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { waitFor } from '../support/waitFor.js';

const CODE = 901;

/** A loopback server that decodes every frame it receives; close() also drops its sockets, so a failed test cannot hang. */
async function frameSink(): Promise<{ port: number; received: RemotingCommand[]; close: () => Promise<void> }> {
  const received: RemotingCommand[] = [];
  const sockets = new Set<net.Socket>();
  const decoder = new FrameDecoder();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk) => decoder.push(chunk, (command) => received.push(command)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return { port: (server.address() as net.AddressInfo).port, received, close };
}

async function connectTo(port: number): Promise<RemotingConnection> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return new RemotingConnection(socket, () => {});
}

function bodyFor(i: number): Buffer | undefined {
  if (i % 97 === 0) return Buffer.alloc(40_000, i & 0xff); // above a quarter slab: its own buffer
  if (i % 5 === 0) return undefined;
  return Buffer.alloc(i % 300, (i * 7) & 0xff);
}

test('frames sent in one turn arrive whole and in order across slab rollovers, big frames and pre-encoded frames', { timeout: 30_000 }, async () => {
  const sink = await frameSink();
  const received = sink.received;
  const connection = await connectTo(sink.port);
  try {
    const total = 2_000; // ~2 000 × ~170 B + big frames: several 64 KiB slabs in one turn
    for (let i = 0; i < total; i++) {
      const command = createRequest(CODE, { seq: String(i), note: i % 3 === 0 ? 'ünïcode ✓' : 'ascii' }, bodyFor(i), i % 2 === 0 ? SerializeType.ROCKETMQ : SerializeType.JSON);
      if (i % 11 === 0) connection.sendEncoded(encodeFrame(command));
      else connection.send(command);
    }
    await waitFor(() => received.length === total, `all ${total} frames received`, 20_000);
    received.forEach((command, i) => {
      assert.equal(command.extFields?.seq, String(i), `frame ${i} out of order`);
      assert.equal(command.extFields?.note, i % 3 === 0 ? 'ünïcode ✓' : 'ascii');
      assert.equal(command.serializeType, i % 2 === 0 ? SerializeType.ROCKETMQ : SerializeType.JSON);
      const expected = bodyFor(i);
      assert.equal(command.body?.length ?? 0, expected?.length ?? 0, `frame ${i} body length`);
      if (expected) assert.ok(command.body?.equals(expected), `frame ${i} body bytes`);
    });
  } finally {
    connection.socket.destroy();
    await sink.close();
  }
});

test('frames queued before close still reach the peer', { timeout: 10_000 }, async () => {
  const sink = await frameSink();
  const connection = await connectTo(sink.port);
  try {
    for (let i = 0; i < 5; i++) connection.send(createRequest(CODE, { seq: String(i) }, undefined, SerializeType.ROCKETMQ));
    connection.close('test closes with answers still in the slab');
    await waitFor(() => sink.received.length === 5, 'the 5 slab frames', 5_000);
    assert.deepEqual(sink.received.map((c) => c.extFields?.seq), ['0', '1', '2', '3', '4']);
  } finally {
    connection.socket.destroy();
    await sink.close();
  }
});
