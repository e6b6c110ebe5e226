// A DLedger group of two Apache RocketMQ 4.9.7 brokers (n0, n1) and one flushbench broker (n2)
// on 127.0.0.1: whoever leads first takes 3 messages that every member must then serve from
// its own ConsumeQueue; the leader is killed and the next leader takes 3 more, read back from
// the other survivor. Our member has shorter DLedger timings (it notices a dead leader in 3 s,
// RocketMQ's in 6 s), so one of the two leaders is ours and one is RocketMQ's. A killed member
// of ours is restarted on its store and must recover, catch up and serve all 6 messages.
// A reproducer, not part of the suite: runs only with FLUSHBENCH_DLEDGER_INTEROP=1 (two JVMs,
// 15-45 s), Java and the cached jars. It passed 4 of 10 runs: the known gaps in FORMAT.md
// (Interop) make a RocketMQ follower skip messages committed with our term-start entry, and a
// follower may serve nothing until slave sync learns the master's address.
// The topic is in every store's config/topics.json from the start: slave sync copies topics only
// once a follower has learnt the master's address, which can take a 30 s registration round.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { RemotingCommand } from '../../protocol/remotingCommand.js';
import { encodeMessageProperties, sendMessageV2Request } from '../../protocol/requests/sendMessage.js';
import { decodePulledRecords, pullMessageRequest } from '../../protocol/requests/pullMessage.js';
import { fetchClusterInfo } from '../../loadgen/topicAdmin.js';
import { defaultCacheDir, DEFAULT_ROCKETMQ_VERSION } from '../../loadgen/rocketmq/fetch.js';
import { jvmArgs, logbackXml } from '../../loadgen/rocketmq/rocketmqConfig.js';
import { freeBrokerPort, freePort } from '../../loadgen/freePorts.js';
import { projectRoot, removeScratch, scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';

const TOPIC = 'InteropT';
const GROUP = 'RaftNode00';

function skipReason(): string | null {
  if (process.env.FLUSHBENCH_DLEDGER_INTEROP !== '1') return 'set FLUSHBENCH_DLEDGER_INTEROP=1 to run (two RocketMQ JVMs; a reproducer of known interop gaps, see FORMAT.md)';
  if (spawnSync('java', ['-version']).error) return 'java is not installed';
  if (!fs.existsSync(path.join(defaultCacheDir(DEFAULT_ROCKETMQ_VERSION), 'fetch-complete.json'))) return 'RocketMQ jars are not cached: run `npx bench rocketmq fetch`';
  return null;
}

/** RocketMQ's config/topics.json with our one-queue topic; both brokers load it at start. */
function writeTopicConfig(storeDir: string): void {
  const topic = { topicName: TOPIC, readQueueNums: 1, writeQueueNums: 1, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
  fs.mkdirSync(path.join(storeDir, 'config'), { recursive: true });
  fs.writeFileSync(path.join(storeDir, 'config', 'topics.json'), JSON.stringify({ topicConfigTable: { [TOPIC]: topic }, dataVersion: { counter: 0, timestamp: Date.now() } }));
}

interface Member { id: string; address: string; child: ChildProcess; ours: boolean; log: string }

function javaMember(root: string, id: string, listenPort: number, namesrv: string, peers: string): Member {
  const home = path.join(root, id);
  fs.mkdirSync(path.join(home, 'conf'), { recursive: true });
  fs.mkdirSync(path.join(home, 'logs', 'rocketmqlogs'), { recursive: true });
  fs.writeFileSync(path.join(home, 'conf', 'logback_broker.xml'), logbackXml('broker'));
  const props = {
    brokerClusterName: 'DLCluster', brokerName: GROUP, brokerIP1: '127.0.0.1', brokerIP2: '127.0.0.1', listenPort: String(listenPort), namesrvAddr: namesrv,
    storePathRootDir: path.join(home, 'store'), storePathCommitLog: path.join(home, 'store', 'commitlog'), enableDLegerCommitLog: 'true',
    dLegerGroup: GROUP, dLegerPeers: peers, dLegerSelfId: id, mappedFileSizeCommitLog: String(64 * 1024 * 1024),
  };
  writeTopicConfig(props.storePathRootDir);
  const propsPath = path.join(home, 'conf', 'broker.properties');
  fs.writeFileSync(propsPath, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n'));
  const libDir = path.join(defaultCacheDir(DEFAULT_ROCKETMQ_VERSION), 'lib');
  const args = jvmArgs({ javaMajor: 17, heap: '384m', homeDir: home, libDir }, 'org.apache.rocketmq.broker.BrokerStartup', ['-c', propsPath, '-n', namesrv]);
  const out = fs.openSync(path.join(home, 'broker.out'), 'w');
  const child = spawn('java', args, { stdio: ['ignore', out, out], env: { ...process.env, ROCKETMQ_HOME: home, NAMESRV_ADDR: namesrv } });
  return { id, address: `127.0.0.1:${listenPort}`, child, ours: false, log: path.join(home, 'logs', 'rocketmqlogs', 'broker.log') };
}

function ourMember(root: string, listenPort: number, namesrv: string, peers: string): Member {
  if (!fs.existsSync(path.join(root, 'n2', 'store'))) writeTopicConfig(path.join(root, 'n2', 'store'));
  const out = fs.openSync(path.join(root, 'n2.out'), 'a');
  const cli = path.join(projectRoot(), 'dist', 'loadgen', 'cli.js');
  const child = spawn(process.execPath, [cli, 'broker', 'brokerClusterName=DLCluster', `brokerName=${GROUP}`, 'brokerIP1=127.0.0.1', `listenPort=${listenPort}`,
    `namesrvAddr=${namesrv}`, `storePathRootDir=${path.join(root, 'n2', 'store')}`, 'enableDLegerCommitLog=true', `dLegerGroup=${GROUP}`, `dLegerPeers=${peers}`,
    'dLegerSelfId=n2', `mappedFileSizeCommitLog=${64 * 1024 * 1024}`, 'heartBeatTimeIntervalMs=1000'], { stdio: ['ignore', out, out] });
  return { id: 'n2', address: `127.0.0.1:${listenPort}`, child, ours: true, log: path.join(root, 'n2.out') };
}

async function invoke(address: string, request: RemotingCommand) {
  const client = new RemotingClient(address, { connectTimeoutMs: 2000 });
  try {
    return await client.invoke(request, 5000);
  } finally {
    client.close();
  }
}

async function pulledBodies(address: string): Promise<string[]> {
  const response = await invoke(address, pullMessageRequest({ consumerGroup: 'interopc', topic: TOPIC, queueId: 0, queueOffset: 0, maxMsgNums: 32, sysFlag: 4, subscription: '*' }));
  return decodePulledRecords(response.body).filter((r) => r.problem === null).map((r) => r.body.toString());
}

async function leaderOf(namesrv: string, live: Member[]): Promise<Member | null> {
  const info = await fetchClusterInfo(namesrv, 2000).catch(() => null);
  const address = info?.brokerAddrTable?.[GROUP]?.brokerAddrs?.['0'];
  return live.find((m) => m.address === address) ?? null;
}

async function sendAndReadBack(t: { diagnostic(text: string): void }, namesrv: string, live: Member[], tag: string, expected: string[]): Promise<Member> {
  let leader: Member | null = null;
  await waitFor(async () => (leader = await leaderOf(namesrv, live)) !== null, 'a DLedger leader registered as brokerId 0', 40_000);
  const l = leader as unknown as Member;
  t.diagnostic(`leader: ${l.id} (${l.ours ? 'flushbench' : 'RocketMQ'})`);
  // Known gap (FORMAT.md, Interop): RocketMQ's reput cannot decode our leader's empty term-start
  // entry and skips what it reads with it. Waiting narrows that window; it does not close it.
  if (l.ours) await new Promise((resolve) => setTimeout(resolve, 2000));
  for (let i = 0; i < 3; i++) {
    const body = `${tag}-${i}`;
    const request = sendMessageV2Request({ producerGroup: 'interop', topic: TOPIC, queueId: 0, properties: encodeMessageProperties({ UNIQ_KEY: body, WAIT: 'true' }) }, Buffer.from(body));
    const response = await invoke(l.address, request);
    assert.equal(response.code, 0, `send ${body} to ${l.id}: ${response.remark ?? ''}`);
    expected.push(body);
  }
  for (const member of live.filter((m) => m !== l)) {
    let got: string[] = [];
    await waitFor(async () => (got = await pulledBodies(member.address).catch(() => [])).length >= expected.length, `${member.id} serves ${expected.length} messages`, 30_000)
      .catch(() => assert.fail(`${member.id} served [${got.join(', ')}], expected [${expected.join(', ')}]`));
    assert.deepEqual(got, expected, `${member.id} (${member.ours ? 'flushbench' : 'RocketMQ'}) serves what ${l.id} took`);
  }
  return l;
}

test('DLedger group of two RocketMQ 4.9.7 brokers and one flushbench broker: both directions replicate and serve pulls', { timeout: 120_000 }, async (t) => {
  const skip = skipReason();
  if (skip) {
    t.skip(skip);
    return;
  }
  const root = scratchDir('dledger-interop-rocketmq');
  const taken = new Set<number>();
  const namesrvPort = await freePort(taken, undefined);
  const namesrv = `127.0.0.1:${namesrvPort}`;
  const raft = [await freePort(taken, undefined), await freePort(taken, undefined), await freePort(taken, undefined)];
  const peers = raft.map((port, i) => `n${i}-127.0.0.1:${port}`).join(';');
  const nsHome = path.join(root, 'ns');
  fs.mkdirSync(path.join(nsHome, 'conf'), { recursive: true });
  fs.writeFileSync(path.join(nsHome, 'conf', 'logback_namesrv.xml'), logbackXml('namesrv'));
  fs.writeFileSync(path.join(nsHome, 'conf', 'namesrv.properties'), `listenPort=${namesrvPort}\n`);
  const libDir = path.join(defaultCacheDir(DEFAULT_ROCKETMQ_VERSION), 'lib');
  const processes: ChildProcess[] = [];
  try {
    processes.push(spawn('java', jvmArgs({ javaMajor: 17, heap: '128m', homeDir: nsHome, libDir }, 'org.apache.rocketmq.namesrv.NamesrvStartup', ['-c', path.join(nsHome, 'conf', 'namesrv.properties')]), { stdio: 'ignore' }));
    const members = [
      javaMember(root, 'n0', await freeBrokerPort(taken, undefined), namesrv, peers),
      javaMember(root, 'n1', await freeBrokerPort(taken, undefined), namesrv, peers),
      ourMember(root, await freeBrokerPort(taken, undefined), namesrv, peers),
    ];
    processes.push(...members.map((m) => m.child));
    const expected: string[] = [];
    const first = await sendAndReadBack(t, namesrv, members, 'first', expected);
    first.child.kill('SIGKILL');
    const live = members.filter((m) => m !== first);
    const second = await sendAndReadBack(t, namesrv, live, 'second', expected);
    assert.notEqual(first.ours, second.ours, 'one leader was ours, one RocketMQ\'s');
    if (first.ours) {
      const restarted = ourMember(root, Number(first.address.split(':')[1]), namesrv, peers);
      processes.push(restarted.child);
      let got: string[] = [];
      await waitFor(async () => (got = await pulledBodies(restarted.address).catch(() => [])).length >= expected.length, 'our restarted member serves all messages', 30_000)
        .catch(() => assert.fail(`restarted n2 served [${got.join(', ')}]`));
      assert.deepEqual(got, expected);
    }
  } finally {
    for (const child of processes) child.kill('SIGKILL');
    await Promise.all(processes.map((child) => (child.exitCode !== null || child.signalCode !== null ? null : new Promise((resolve) => child.once('exit', resolve)))));
    removeScratch(root);
  }
});
