// The official RocketMQ 4.9.7 Java client against our name server and brokers: sync sends
// with DefaultMQProducer and a DefaultMQPushConsumer for every flush × replication profile and
// a single master, and a master killed (SIGKILL) mid-send under SYNC_MASTER. Skips, saying why,
// without java/javac or the jars (bench rocketmq fetch's cache or Maven Central).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type JavaEnv, type JavaRun, linesOf, runClient, setUpJava, startProfile } from './javaHarness.js';

const MESSAGES = 200;
/** Long enough (20 ms apart) that sends go on well past the restart. */
const KILL_RUN_MESSAGES = 500;
const CLIENT_TIMEOUT_S = 60;

let env: JavaEnv | null = null;
let skipReason = '';

before(() => {
  const setup = setUpJava('java-client');
  if ('skip' in setup) skipReason = setup.skip;
  else env = setup;
}, { timeout: 600_000 }); // the first fetch from Maven Central may take minutes

function summary(run: JavaRun, kind: 'SEND_SUMMARY' | 'CONSUME_SUMMARY'): Record<string, string> {
  const found = linesOf(run, kind);
  assert.equal(found.length, 1, `one ${kind} line; output tail:\n${run.lines.slice(-10).join('\n')}\n${run.stderr.slice(-2000)}`);
  return found[0];
}

/** Every send SEND_OK with a msgId and offset, every key consumed exactly once. */
function assertCleanRun(run: JavaRun, label: string): void {
  assert.deepEqual(linesOf(run, 'SEND_ERROR'), [], `${label}: no send errors`);
  const sends = linesOf(run, 'SEND');
  assert.equal(sends.length, MESSAGES, `${label}: one SEND line per message`);
  const offsets = new Map<string, number[]>();
  for (const send of sends) {
    assert.equal(send.status, 'SEND_OK', `${label}: send ${send.i}: ${JSON.stringify(send)}`);
    assert.match(send.msgId, /^[0-9A-F]{32,}$/, `${label}: UNIQ_KEY msgId`);
    assert.match(send.offsetMsgId, /^7F000001[0-9A-F]{24}$/, `${label}: offset msgId names 127.0.0.1 and the CommitLog offset`);
    const queue = `${send.broker}/${send.queue}`;
    offsets.set(queue, [...(offsets.get(queue) ?? []), Number(send.offset)]);
  }
  for (const [queue, list] of offsets) assert.deepEqual(list, list.map((_, i) => i), `${label}: ${queue} offsets 0, 1, 2 … on a fresh topic`);
  const sent = summary(run, 'SEND_SUMMARY');
  assert.equal(sent.sendOk, String(MESSAGES));
  assert.equal(sent.statuses, `SEND_OK:${MESSAGES}`);
  const consumed = summary(run, 'CONSUME_SUMMARY');
  assert.equal(consumed.missing, '0', `${label}: nothing missing`);
  assert.equal(consumed.duplicates, '0', `${label}: nothing twice`);
  assert.equal(consumed.consumed, String(MESSAGES), `${label}: each message delivered once`);
  assert.equal(run.code, 0, `${label}: client exit code; tail:\n${run.lines.slice(-5).join('\n')}\n${run.stderr.slice(-2000)}`);
  const byKey = new Map(sends.map((s) => [s.key, s.msgId]));
  for (const message of linesOf(run, 'CONSUMED')) assert.equal(message.msgId, byKey.get(message.key), `${label}: consumed ${message.key} under the msgId the send returned`);
}

for (const profile of ['single-sync-flush', 'async-async', 'sync-async', 'async-sync', 'sync-sync']) {
  test(`Java client 4.9.7 on ${profile}: ${MESSAGES} sync sends all SEND_OK, push consumer gets each exactly once`, { timeout: 120_000 }, async (t) => {
    if (!env) return t.skip(skipReason);
    const started = Date.now();
    const cluster = await startProfile(profile, env.scratch);
    try {
      const run = await runClient(env, cluster.namesrvAddress, `JavaCheck_${profile.replace(/-/g, '_')}`, { count: MESSAGES, 'timeout-s': CLIENT_TIMEOUT_S }, (CLIENT_TIMEOUT_S + 15) * 1000);
      assertCleanRun(run, profile);
      t.diagnostic(`${profile}: client ${run.elapsedMs} ms, total ${Date.now() - started} ms`);
    } finally {
      await cluster.stop();
    }
  });
}

test('SYNC_MASTER master killed mid-send: errors or slave statuses, never a hang; after restart every SEND_OK message is consumed', { timeout: 150_000 }, async (t) => {
  if (!env) return t.skip(skipReason);
  const javaEnv = env;
  const cluster = await startProfile('async-sync', javaEnv.scratch);
  const master = cluster.brokers.find((b) => b.role === 'master');
  assert.ok(master);
  // Set from the output callback; a holder so that TypeScript does not narrow it to null.
  const state: { killed: Promise<void> | null } = { killed: null };
  try {
    const topic = 'JavaCheck_kill';
    const killAfterAcks = 60;
    const downMs = 1500;
    let acks = 0;
    const send = await runClient(javaEnv, cluster.namesrvAddress, topic, { mode: 'send', count: KILL_RUN_MESSAGES, 'interval-ms': 20, 'send-timeout-ms': 3000, 'timeout-s': 90 }, 100_000, (line) => {
      if (!line.startsWith('SEND ') || !line.includes('status=SEND_OK') || ++acks !== killAfterAcks) return;
      state.killed = (async () => {
        master.process.child.kill('SIGKILL');
        await master.process.exited;
        await new Promise((r) => setTimeout(r, downMs));
        // Same store, same ports: the broker recovers its CommitLog and registers again.
        await cluster.restart(master);
      })();
    });
    assert.ok(state.killed, `the master was killed after ${killAfterAcks} acks (saw ${acks})`);
    await state.killed;
    assert.notEqual(send.code, 3, 'the client watchdog did not fire: no send hung');
    const sends = linesOf(send, 'SEND');
    const errors = linesOf(send, 'SEND_ERROR');
    assert.equal(sends.length + errors.length, KILL_RUN_MESSAGES, 'every send returned a result or an error');
    const notOk = sends.filter((s) => s.status !== 'SEND_OK');
    for (const s of notOk) assert.match(s.status, /^(FLUSH_SLAVE_TIMEOUT|SLAVE_NOT_AVAILABLE)$/, `send ${s.i}`);
    assert.ok(errors.length + notOk.length > 0, 'the kill shows up as errors or slave statuses');
    const slowest = Math.max(...[...sends, ...errors].map((s) => Number(s.us)));
    assert.ok(slowest < 10_000_000, `each send returns within its timeout budget (slowest ${slowest} µs)`);
    const acked = sends.filter((s) => s.status === 'SEND_OK').map((s) => s.key);
    assert.ok(acked.length > killAfterAcks, `sends succeed again after the restart (${acked.length} SEND_OK)`);
    t.diagnostic(`kill run: ${acked.length} SEND_OK, ${notOk.length} slave statuses, ${errors.length} errors (${errors[0]?.error ?? 'none'}), ${send.elapsedMs} ms`);

    const expectFile = path.join(javaEnv.scratch, 'kill-expected.txt');
    fs.writeFileSync(expectFile, `${acked.join('\n')}\n`);
    const consume = await runClient(javaEnv, cluster.namesrvAddress, topic, { mode: 'consume', 'expect-file': expectFile, 'allow-duplicates': 'true', 'consume-timeout-s': 40, 'timeout-s': 60 }, 75_000);
    const result = summary(consume, 'CONSUME_SUMMARY');
    assert.equal(result.expected, String(acked.length));
    assert.equal(result.missing, '0', `every SEND_OK message survived the kill; tail:\n${consume.lines.slice(-3).join('\n')}`);
    assert.equal(consume.code, 0);
  } finally {
    await cluster.stop();
  }
});

after(() => {
  if (skipReason) process.stdout.write(`# javaClient suite skipped: ${skipReason}\n`);
});
