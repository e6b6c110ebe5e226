// `bench verify`: crash and loss checks against real broker processes.
//   kill-async      ASYNC_FLUSH master killed with SIGKILL under load: every acked message must
//                   survive a restart (the page cache outlives the process).
//   kill-pool       same with transientStorePoolEnable: acked messages still in the pool (not
//                   yet committed to the file) are lost; the check measures how many.
//   kill-sync-master SYNC_MASTER killed under load: every acked message must be on the slave.
// A power cut cannot be simulated from user space; the report states the exposure instead.
import path from 'node:path';
import fs from 'node:fs';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remotingCommand.js';
import { sendMessageV2Request } from '../protocol/requests/sendMessage.js';
import { RemotingClient } from '../protocol/remotingClient.js';
import { launchCluster, type LaunchedNode } from './clusterLauncher.js';
import { startBenchProcess, stopProcess } from './childProcesses.js';
import type { ProfileNode } from './profile.js';
import { createTopic } from './topicAdmin.js';

export interface VerifyResult {
  scenario: string;
  expectation: string;
  acked: number;
  lost: number;
  passed: boolean;
  detail: string;
}

const TOPIC = 'FlushbenchVerify';
const QUEUES = 4;

function master(properties: Record<string, string>): ProfileNode {
  return { name: 'broker-a', role: 'master', brokerName: 'broker-a', properties: { brokerRole: 'ASYNC_MASTER', ...properties } };
}

/** Sends from `producers` loops until stopped; returns the highest acked queue offset per queue. */
async function produceUntilKilled(address: string, producers: number, loadMs: number, kill: () => void): Promise<{ acked: number; maxAcked: number[] }> {
  const client = new RemotingClient(address);
  const maxAcked = new Array<number>(QUEUES).fill(-1);
  let acked = 0;
  let running = true;
  const body = Buffer.alloc(128, 0x61);
  const loop = async (id: number) => {
    for (let i = 0; running; i++) {
      const queueId = (id + i) % QUEUES;
      const request = sendMessageV2Request({
        producerGroup: 'verify_producer', topic: TOPIC, queueId, defaultTopicQueueNums: QUEUES, properties: `UNIQ_KEY\u0001V${id}-${i}\u0002WAIT\u0001true`,
      }, body);
      try {
        const response = await client.invoke(request, 3000);
        if (response.code === ResponseCode.SUCCESS) {
          acked++;
          const offset = Number(response.extFields?.queueOffset ?? -1);
          if (offset > maxAcked[queueId]) maxAcked[queueId] = offset;
        }
      } catch {
        return; // the broker is gone
      }
    }
  };
  const loops = Array.from({ length: producers }, (_, id) => loop(id));
  await new Promise((r) => setTimeout(r, loadMs));
  kill();
  running = false;
  await Promise.all(loops);
  client.close();
  return { acked, maxAcked };
}

async function maxOffsets(address: string): Promise<number[]> {
  const client = new RemotingClient(address);
  try {
    const out: number[] = [];
    for (let queueId = 0; queueId < QUEUES; queueId++) {
      const response = await client.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: TOPIC, queueId: String(queueId) }), 3000);
      out.push(Number(response.extFields?.offset ?? 0));
    }
    return out;
  } finally {
    client.close();
  }
}

/** Restarts a killed broker on its store with the same properties and returns its address. */
async function restart(node: LaunchedNode, logDir: string): Promise<{ stop: () => Promise<unknown>; address: string }> {
  const args = ['broker', ...Object.entries(node.properties).map(([k, v]) => `${k}=${v}`)];
  const started = await startBenchProcess(`${node.node.name}-restarted`, args, /listening on (\S+):(\d+)/, { logDir });
  return { stop: () => stopProcess(started.process), address: `${started.match[1]}:${started.match[2]}` };
}

function lostCount(maxAcked: number[], present: number[]): number {
  return maxAcked.reduce((lost, acked, q) => lost + Math.max(0, acked + 1 - present[q]), 0);
}

async function killScenario(name: string, expectation: string, nodes: ProfileNode[], dir: string, loadMs: number, lossAllowed: boolean): Promise<VerifyResult> {
  const storeDir = path.join(dir, name);
  const cluster = await launchCluster(nodes, { storeDir, logDir: path.join(storeDir, 'logs') });
  try {
    await createTopic(cluster.namesrvAddress, TOPIC, { queues: QUEUES });
    const masterNode = cluster.nodes.find((n) => n.node.role === 'master') as LaunchedNode;
    const slaveNode = cluster.nodes.find((n) => n.node.role === 'slave');
    const { acked, maxAcked } = await produceUntilKilled(masterNode.address, 16, loadMs, () => masterNode.process.child.kill('SIGKILL'));
    await masterNode.process.exited;
    let present: number[];
    if (slaveNode) {
      present = await maxOffsets(slaveNode.address);
    } else {
      const restarted = await restart(masterNode, path.join(storeDir, 'logs'));
      try {
        present = await maxOffsets(restarted.address);
      } finally {
        await restarted.stop();
      }
    }
    const lost = lostCount(maxAcked, present);
    return {
      scenario: name, expectation, acked, lost, passed: lossAllowed || lost === 0,
      detail: `highest acked queue offsets ${JSON.stringify(maxAcked)}, present after the kill ${JSON.stringify(present)}`,
    };
  } finally {
    await cluster.stop();
    fs.rmSync(storeDir, { recursive: true, force: true });
  }
}

export async function runVerify(dir: string, loadMs: number, onResult: (r: VerifyResult) => void): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  const scenarios: Array<() => Promise<VerifyResult>> = [
    () => killScenario('kill-async', 'ASYNC_FLUSH, kill -9: no acked message lost', [master({ flushDiskType: 'ASYNC_FLUSH' })], dir, loadMs, false),
    () => killScenario('kill-sync', 'SYNC_FLUSH, kill -9: no acked message lost', [master({ flushDiskType: 'SYNC_FLUSH' })], dir, loadMs, false),
    () => killScenario('kill-pool', 'ASYNC_FLUSH + transientStorePoolEnable, kill -9: acked but uncommitted messages are lost (measured)',
      [master({ flushDiskType: 'ASYNC_FLUSH', transientStorePoolEnable: 'true' })], dir, loadMs, true),
    () => killScenario('kill-sync-master', 'SYNC_MASTER, master kill -9: every acked message is on the slave', [
      master({ brokerRole: 'SYNC_MASTER', flushDiskType: 'ASYNC_FLUSH' }),
      { name: 'broker-a-s', role: 'slave', brokerName: 'broker-a', properties: { brokerRole: 'SLAVE', brokerId: '1', flushDiskType: 'ASYNC_FLUSH' } },
    ], dir, loadMs, false),
  ];
  for (const scenario of scenarios) {
    const result = await scenario();
    results.push(result);
    onResult(result);
  }
  return results;
}
