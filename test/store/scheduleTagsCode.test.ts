// The store's side of delay levels: a SCHEDULE_TOPIC_XXXX ConsumeQueue entry carries its deliver
// time (store timestamp + the level's delay) as tag code — on append and when recovery rebuilds
// the ConsumeQueue from the CommitLog — while every other entry keeps the TAGS hash.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SCHEDULE_TOPIC } from '../../broker/store/delayLevels.js';
import { javaStringHashCode } from '../../broker/store/messageCodec.js';
import { MessageStore } from '../../broker/store/messageStore.js';
import { waitFor } from '../support/waitFor.js';
import { config, message, tempRoot } from './storeHarness.js';

const P = (pairs: Record<string, string>) => Object.entries(pairs).map(([k, v]) => `${k}\u0001${v}`).join('\u0002');

test('SCHEDULE_TOPIC_XXXX entries get storeTimestamp + delay as tag code, on append and after a ConsumeQueue rebuild', { timeout: 15_000 }, async () => {
  const root = tempRoot('schedule-tags');
  const storeConfig = config(root, { messageDelayLevel: '1s 2s' });
  let store = await MessageStore.open(storeConfig);
  try {
    const level2 = await store.putMessage(message(0, { topic: SCHEDULE_TOPIC, queueId: 1, properties: P({ TAGS: 'a', DELAY: '2', REAL_TOPIC: 'T', REAL_QID: '0' }) }));
    const capped = await store.putMessage(message(1, { topic: SCHEDULE_TOPIC, queueId: 1, properties: P({ DELAY: '9', REAL_TOPIC: 'T', REAL_QID: '0' }) }));
    const plain = await store.putMessage(message(2, { topic: 'T', queueId: 0, properties: P({ TAGS: 'a', DELAY: '2' }) }));
    for (const result of [level2, capped, plain]) assert.equal(result.status, 'PUT_OK');
    const expected = () => [
      store.queues.find(SCHEDULE_TOPIC, 1)?.getEntry(0)?.tagsCode,
      store.queues.find(SCHEDULE_TOPIC, 1)?.getEntry(1)?.tagsCode,
      store.queues.find('T', 0)?.getEntry(0)?.tagsCode,
    ];
    const want = [level2.storeTimestamp + 2000, capped.storeTimestamp + 2000, javaStringHashCode('a')];
    await waitFor(() => (store.queues.find(SCHEDULE_TOPIC, 1)?.maxOffset ?? 0) === 2 && (store.queues.find('T', 0)?.maxOffset ?? 0) === 1, 'dispatch', 3000);
    assert.deepEqual(expected(), want, 'on append; DELAY outside the schedule topic is just a property');
    await store.shutdown();

    fs.rmSync(path.join(root, 'consumequeue'), { recursive: true, force: true });
    store = await MessageStore.open(storeConfig);
    assert.ok((store.recoveryReport?.redispatchedRecords ?? 0) >= 3, 'recovery rebuilt the ConsumeQueues');
    assert.deepEqual(expected(), want, 'after the rebuild');
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
