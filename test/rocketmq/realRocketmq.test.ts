// Apache RocketMQ itself: fetch (Maven Central, cached), start name server + broker, create a
// topic, send with our protocol client, stop; no module-access error may appear in any log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { sendMessageV2Request } from '../../protocol/requests/sendMessage.js';
import { createTopic } from '../../loadgen/topicAdmin.js';
import { defaultCacheDir, DEFAULT_ROCKETMQ_VERSION, fetchRocketmq } from '../../loadgen/rocketmq/fetch.js';
import { moduleAccessErrors, startRocketmq } from '../../loadgen/rocketmq/rocketmqProcess.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

function missingTool(): string | null {
  if (spawnSync('java', ['-version']).error) return 'java is not installed (apt-get install openjdk-17-jre-headless)';
  const cached = fs.existsSync(path.join(defaultCacheDir(DEFAULT_ROCKETMQ_VERSION), 'fetch-complete.json'));
  if (!cached && spawnSync('mvn', ['-v']).error) return 'mvn is not installed and RocketMQ is not cached (apt-get install maven)';
  return null;
}

test('real Apache RocketMQ: start, create a topic, 100 sends with SEND_OK and increasing offsets, clean stop', { timeout: 600_000 }, async (t) => {
  const missing = missingTool();
  if (missing) {
    t.skip(missing);
    return;
  }
  t.diagnostic(`fetching RocketMQ ${DEFAULT_ROCKETMQ_VERSION} (Maven Central the first time, may take minutes)`);
  const lib = fetchRocketmq({ onProgress: (line) => t.diagnostic(line) });
  const storeDir = diskScratchDir('rocketmq');
  // Transient pool + 1 MiB commit-log files: the run crosses a file boundary and exercises
  // every JDK 17 module flag (pool mlock, commit, unmap on shutdown).
  const settings = { flushDiskType: 'ASYNC_FLUSH', transientStorePoolEnable: 'true', mappedFileSizeCommitLog: String(1024 * 1024) };
  t.diagnostic(`starting name server and broker from ${lib.libDir}`);
  const cluster = await startRocketmq({ lib, storeDir, settings, brokerHeap: '512m', namesrvHeap: '128m', readyTimeoutMs: 90_000 });
  const client = new RemotingClient(cluster.brokerAddress);
  try {
    t.diagnostic(`RocketMQ ${cluster.version} ready: namesrv ${cluster.namesrvAddress}, broker ${cluster.brokerAddress}`);
    const masters = await createTopic(cluster.namesrvAddress, 'FlushbenchReal', { queues: 1, timeoutMs: 10_000 });
    assert.deepEqual(masters, [cluster.brokerAddress]);
    const body = Buffer.alloc(16 * 1024, 'x');
    let previous = -1;
    for (let i = 0; i < 100; i++) {
      const request = sendMessageV2Request({ producerGroup: 'flushbench_real', topic: 'FlushbenchReal', queueId: 0, properties: '' }, body);
      const response = await client.invoke(request, 10_000);
      assert.equal(response.code, ResponseCode.SUCCESS, `send ${i}: ${response.code} ${response.remark ?? ''}`);
      const offset = Number(response.extFields?.queueOffset);
      assert.equal(offset, previous + 1, `send ${i}: queue offsets go up by one`);
      assert.match(response.extFields?.msgId ?? '', /^[0-9A-F]{32}$/);
      previous = offset;
    }
    const commitLogFiles = fs.readdirSync(path.join(storeDir, 'store', 'commitlog'));
    assert.ok(commitLogFiles.length >= 2, `1.6 MiB of messages roll over 1 MiB files: ${commitLogFiles.join(', ')}`);
  } finally {
    client.close();
    await cluster.stop();
  }
  assert.deepEqual(moduleAccessErrors(path.dirname(cluster.brokerLogPath)), [], 'no InaccessibleObjectException/IllegalAccessError in the JVM output or logs');
  assert.match(fs.readFileSync(cluster.brokerLogPath, 'utf8'), /Shutdown hook over/, 'the broker ran its shutdown hook');
  removeScratch(storeDir);
});
