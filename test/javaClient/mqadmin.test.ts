// Apache RocketMQ 4.9.7's mqadmin (MQAdminStartup) against our name server and a SYNC_MASTER +
// slave: updateTopic, clusterList, topicRoute, topicStatus, brokerStatus, consumerProgress,
// getBrokerConfig must succeed and print our real values (offsets of the messages the Java
// client sent, our flush settings). mqadmin exits 0 even when a command fails, so every
// output is also checked for exceptions.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type JavaEnv, linesOf, mqadmin, runClient, setUpJava, startProfile, type TestCluster } from './javaHarness.js';

const TOPIC = 'AdminCheckTopic';
const GROUP = 'AdminCheckGroup';
const MESSAGES = 40;
const QUEUES = 4;

let env: JavaEnv | null = null;
let skipReason = '';
let cluster: TestCluster | null = null;
/** queueId → max offset (last acked queue offset + 1) from the client's SEND lines. */
const maxOffsets = new Map<number, number>();

before(async () => {
  const setup = setUpJava('mqadmin');
  if ('skip' in setup) {
    skipReason = setup.skip;
    return;
  }
  env = setup;
  cluster = await startProfile('sync-sync', env.scratch);
}, { timeout: 600_000 }); // the first fetch from Maven Central may take minutes

after(async () => {
  await cluster?.stop();
  if (skipReason) process.stdout.write(`# mqadmin suite skipped: ${skipReason}\n`);
});

function addressOf(role: 'master' | 'slave'): string {
  const broker = cluster?.brokers.find((b) => b.role === role);
  assert.ok(broker, `a ${role} is running`);
  return broker.address;
}

/** Runs a command against our name server; asserts exit 0 and no exception in the output. */
async function admin(args: string[]): Promise<string> {
  assert.ok(env && cluster);
  const { code, output } = await mqadmin(env, [args[0], '-n', cluster.namesrvAddress, ...args.slice(1)]);
  assert.equal(code, 0, `mqadmin ${args.join(' ')} exit code; output:\n${output}`);
  assert.doesNotMatch(output, /Exception|command failed/, `mqadmin ${args.join(' ')} failed:\n${output}`);
  return output;
}

/** brokerStatus prints "key<spaces>: value" lines. */
function keyValues(output: string): Map<string, string> {
  return new Map([...output.matchAll(/^(\S+)\s*: (.*)$/gm)].map((m) => [m[1], m[2].trim()]));
}

test('updateTopic creates the topic on the cluster master; the Java client then sends and consumes on it', { timeout: 90_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  const output = await admin(['updateTopic', '-c', 'FlushbenchCluster', '-t', TOPIC, '-r', String(QUEUES), '-w', String(QUEUES)]);
  assert.match(output, new RegExp(`create topic to ${addressOf('master')} success`));
  assert.match(output, new RegExp(`TopicConfig \\[topicName=${TOPIC}, readQueueNums=${QUEUES}, writeQueueNums=${QUEUES}, perm=RW-`));
  const run = await runClient(env, cluster.namesrvAddress, TOPIC, { count: MESSAGES, group: GROUP, 'timeout-s': 60 }, 75_000);
  assert.equal(run.code, 0, `client run:\n${run.lines.slice(-5).join('\n')}`);
  for (const send of linesOf(run, 'SEND')) {
    const queueId = Number(send.queue);
    maxOffsets.set(queueId, Math.max(maxOffsets.get(queueId) ?? 0, Number(send.offset) + 1));
  }
  assert.equal([...maxOffsets.values()].reduce((a, b) => a + b, 0), MESSAGES, 'queue offsets account for every message');
  assert.ok(maxOffsets.size <= QUEUES && [...maxOffsets.keys()].every((q) => q < QUEUES), 'the client used the 4 queues updateTopic made');
});

test('clusterList shows the master (BID 0) and the slave (BID 1) with our version and TPS columns', { timeout: 60_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  const output = await admin(['clusterList']);
  assert.match(output, new RegExp(`FlushbenchCluster\\s+broker-a\\s+0\\s+${addressOf('master')}\\s+flushbench`));
  assert.match(output, new RegExp(`FlushbenchCluster\\s+broker-a\\s+1\\s+${addressOf('slave')}\\s+flushbench`));
  assert.doesNotMatch(output, /null/, 'every runtime key clusterList reads is present');
});

test('topicRoute shows both brokers and the 4 queues', { timeout: 60_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  const output = await admin(['topicRoute', '-t', TOPIC]);
  assert.match(output, new RegExp(`0:"${addressOf('master')}"`));
  assert.match(output, new RegExp(`1:"${addressOf('slave')}"`));
  assert.match(output, /"readQueueNums":4/);
  assert.match(output, /"writeQueueNums":4/);
});

test('topicStatus shows the max offset of every queue the client wrote', { timeout: 60_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  assert.ok(maxOffsets.size > 0, 'the send test ran first');
  const output = await admin(['topicStatus', '-t', TOPIC]);
  const rows = new Map([...output.matchAll(/^broker-a\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S.*)?$/gm)].map((m) => [Number(m[1]), { min: Number(m[2]), max: Number(m[3]), last: m[4] ?? '' }]));
  assert.equal(rows.size, QUEUES, `one row per queue:\n${output}`);
  for (let queueId = 0; queueId < QUEUES; queueId++) {
    const row = rows.get(queueId);
    assert.ok(row);
    assert.equal(row.min, 0);
    assert.equal(row.max, maxOffsets.get(queueId) ?? 0, `queue ${queueId} max offset`);
    if (row.max > 0) assert.match(row.last, /^\d{4}-\d{2}-\d{2} /, `queue ${queueId} last store time`);
  }
});

test('brokerStatus shows our runtime values on master and slave: same CommitLog end, flush counters, putTps', { timeout: 60_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  const master = keyValues(await admin(['brokerStatus', '-b', addressOf('master')]));
  const slave = keyValues(await admin(['brokerStatus', '-b', addressOf('slave')]));
  assert.equal(master.get('brokerRole'), 'SYNC_MASTER');
  assert.equal(master.get('flushDiskType'), 'SYNC_FLUSH');
  assert.equal(slave.get('brokerRole'), 'SLAVE');
  const masterEnd = Number(master.get('commitLogMaxOffset'));
  assert.ok(masterEnd > MESSAGES * 100, `commitLogMaxOffset ${masterEnd} covers ${MESSAGES} messages`);
  assert.equal(Number(slave.get('commitLogMaxOffset')), masterEnd, 'SYNC_MASTER acked everything, so the slave ends where the master does');
  assert.equal(Number(master.get('rocketmq_ha_slave_ack_offset')), masterEnd, 'the slave acked the whole CommitLog');
  assert.equal(master.get('flushedOffset'), String(masterEnd), 'SYNC_FLUSH: everything acked is fsynced');
  assert.ok(Number(master.get('msgPutTotalTodayNow')) >= MESSAGES);
  assert.ok(Number(master.get('fsyncCount')) > 0);
  assert.match(master.get('putTps') ?? '', /^\d+\.\d{2} \d+\.\d{2} \d+\.\d{2}$/, 'putTps: 10 s, 1 min, 10 min');
});

test('consumerProgress -g shows the group caught up on every queue; without -g it lists the group', { timeout: 60_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  const output = await admin(['consumerProgress', '-g', GROUP]);
  const rows = [...output.matchAll(new RegExp(`^${TOPIC}\\s+broker-a\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(-?\\d+)`, 'gm'))];
  assert.equal(rows.length, QUEUES, `one row per queue:\n${output}`);
  for (const [, queueId, brokerOffset, consumerOffset, diff] of rows) {
    assert.equal(Number(brokerOffset), maxOffsets.get(Number(queueId)) ?? 0, `queue ${queueId} broker offset`);
    assert.equal(consumerOffset, brokerOffset, `queue ${queueId}: the consumer committed everything`);
    assert.equal(diff, '0');
  }
  assert.match(output, /Diff Total: 0/);
  const all = await admin(['consumerProgress']);
  assert.match(all, new RegExp(`^${GROUP}\\s+0\\s+OFFLINE`, 'm'), 'the group is listed (offline: the client has exited)');
});

test('getBrokerConfig shows our settings for one broker and, with -c, for master and slave', { timeout: 60_000 }, async (t) => {
  if (!env || !cluster) return t.skip(skipReason);
  const master = addressOf('master');
  const output = await admin(['getBrokerConfig', '-b', master]);
  const settings = new Map([...output.matchAll(/^(\S+)\s+= {2}(.*)$/gm)].map((m) => [m[1], m[2]]));
  assert.equal(settings.get('flushDiskType'), 'SYNC_FLUSH');
  assert.equal(settings.get('brokerRole'), 'SYNC_MASTER');
  assert.equal(settings.get('listenPort'), master.split(':')[1]);
  assert.equal(settings.get('brokerClusterName'), 'FlushbenchCluster');
  const byCluster = await admin(['getBrokerConfig', '-c', 'FlushbenchCluster']);
  assert.match(byCluster, new RegExp(`Master: ${master}`));
  assert.match(byCluster, new RegExp(`My Master: ${master}=====Slave: ${addressOf('slave')}`));
  assert.match(byCluster, /brokerRole\s+= {2}SLAVE/);
});
