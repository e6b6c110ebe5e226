// PendingSends answers stored sends when the promise they wait on settles: in arrival order,
// one promise reaction per shared promise, SYSTEM_ERROR for a rejection or a throwing answer,
// nothing for a oneway send; `size` counts the sends not yet answered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseCode, SerializeType } from '../../protocol/codes.js';
import { createRequest, createResponse, markOneway, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { type AnsweringChannel, PendingSends } from '../../broker/server/pendingSends.js';
import type { PutStatus } from '../../broker/store/putStatus.js';

function channel(sent: RemotingCommand[]): AnsweringChannel {
  return { id: 'c1', remoteAddress: '127.0.0.1', remotePort: 1, send: (command) => sent.push(command) };
}

function deferred(): { promise: Promise<PutStatus>; resolve: (s: PutStatus) => void; reject: (e: Error) => void } {
  let resolve!: (s: PutStatus) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<PutStatus>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('sends sharing a batch promise are answered in arrival order once it settles, through one reaction', async () => {
  const sent: RemotingCommand[] = [];
  const pending = new PendingSends((send, status) => createResponse(send.request, status === 'PUT_OK' ? ResponseCode.SUCCESS : ResponseCode.FLUSH_DISK_TIMEOUT));
  const batch = deferred();
  let thens = 0;
  const counted = batch.promise;
  const originalThen = counted.then.bind(counted);
  counted.then = ((...args: Parameters<typeof originalThen>) => (thens++, originalThen(...args))) as typeof counted.then;
  const requests = [1, 2, 3].map(() => createRequest(310, {}, undefined, SerializeType.ROCKETMQ));
  for (const request of requests) pending.add(counted, { request, channel: channel(sent), appended: [], queueId: 0 });
  assert.equal(pending.size, 3);
  assert.equal(thens, 1, 'one reaction for the whole batch');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(sent.length, 0, 'nothing answered before the batch settles');
  batch.resolve('PUT_OK');
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(sent.map((r) => r.opaque), requests.map((r) => r.opaque));
  assert.ok(sent.every((r) => r.code === ResponseCode.SUCCESS));
  assert.equal(pending.size, 0);
});

test('a rejected promise or a throwing answer gives SYSTEM_ERROR; a oneway send gets no answer', async () => {
  const sent: RemotingCommand[] = [];
  const pending = new PendingSends((send) => {
    if (send.queueId === 7) throw new Error('answer exploded');
    return createResponse(send.request, ResponseCode.SUCCESS);
  });
  const rejected = deferred();
  const ok = deferred();
  const a = createRequest(310, {}, undefined, SerializeType.ROCKETMQ);
  const b = createRequest(310, {}, undefined, SerializeType.ROCKETMQ);
  const oneway = markOneway(createRequest(310, {}, undefined, SerializeType.ROCKETMQ));
  pending.add(rejected.promise, { request: a, channel: channel(sent), appended: [], queueId: 0 });
  pending.add(ok.promise, { request: b, channel: channel(sent), appended: [], queueId: 7 });
  pending.add(ok.promise, { request: oneway, channel: channel(sent), appended: [], queueId: 0 });
  rejected.reject(new Error('store broke'));
  ok.resolve('PUT_OK');
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(sent.map((r) => [r.opaque, r.code, r.remark]), [
    [a.opaque, ResponseCode.SYSTEM_ERROR, 'store broke'],
    [b.opaque, ResponseCode.SYSTEM_ERROR, 'answer exploded'],
  ]);
  assert.equal(pending.size, 0);
});

test('a send added after its promise already answered a group (same resolved promise, a later turn) is answered too', async () => {
  const sent: RemotingCommand[] = [];
  const pending = new PendingSends((send) => createResponse(send.request, ResponseCode.SUCCESS));
  const resolved = Promise.resolve<PutStatus>('PUT_OK'); // like PUT_OK_SETTLED, shared by every ASYNC_FLUSH send
  const first = createRequest(310, {}, undefined, SerializeType.ROCKETMQ);
  const second = createRequest(310, {}, undefined, SerializeType.ROCKETMQ);
  pending.add(resolved, { request: first, channel: channel(sent), appended: [], queueId: 0 });
  await new Promise((r) => setTimeout(r, 5));
  pending.add(resolved, { request: second, channel: channel(sent), appended: [], queueId: 0 });
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(sent.map((r) => r.opaque), [first.opaque, second.opaque]);
  assert.equal(pending.size, 0);
});
