// A profile's cluster on Apache RocketMQ: the profile's nodes become RocketMQ brokers with the
// same broker.properties keys (plus the names and roles RocketMQ needs), stores under the run's
// store directory (the disk under test), and the same cluster shape (EngineCluster) as our own launcher.
import type { EngineCluster, LaunchOptions } from '../clusterLauncher.js';
import type { ProfileNode } from '../profile.js';
import { fetchRocketmq } from './fetch.js';
import { type RocketmqBrokerSpec, startRocketmqCluster } from './rocketmqProcess.js';

/** Same cluster name as flushbench's launcher, so routes and reports look alike. */
const CLUSTER_NAME = 'FlushbenchCluster';
/** Grace between SIGTERM and SIGKILL: RocketMQ's shutdown hook needs ~5 s; a bench run must not hang on it. */
const STOP_GRACE_MS = 20_000;
const READY_TIMEOUT_MS = 90_000;

/** broker.properties keys for one profile node: the profile's keys, and identity keys it may leave out. */
export function rocketmqBrokerSpec(node: ProfileNode): RocketmqBrokerSpec {
  const slave = node.role === 'slave';
  return {
    name: node.name,
    settings: {
      brokerClusterName: CLUSTER_NAME,
      brokerName: node.brokerName,
      brokerId: slave ? '1' : '0',
      ...(slave ? { brokerRole: 'SLAVE' } : {}),
      ...node.properties,
    },
  };
}

export async function launchRocketmqCluster(nodes: ProfileNode[], options: LaunchOptions): Promise<EngineCluster> {
  if (options.httpProduce) throw new Error('--driver http loads flushbench\'s HTTP produce endpoint; Apache RocketMQ has none (use --driver remoting with --engine rocketmq)');
  const progress = options.onProgress ?? (() => {});
  const lib = fetchRocketmq({ onProgress: progress });
  const cluster = await startRocketmqCluster({
    // Stores on the disk under test; conf and logs beside the report, so they outlive the store.
    lib, storeDir: options.storeDir, homeRoot: options.logDir, brokers: nodes.map(rocketmqBrokerSpec), layout: 'per-node',
    readyTimeoutMs: READY_TIMEOUT_MS, stopGraceMs: STOP_GRACE_MS, onProgress: progress,
  });
  for (const node of cluster.nodes) for (const warning of node.warnings) progress(`${node.name}: warning: ${warning}`);
  return {
    engineLabel: `rocketmq-${cluster.version}`,
    namesrvAddress: cluster.namesrvAddress,
    namesrvPid: cluster.namesrvPid > 0 ? cluster.namesrvPid : null,
    nodes: cluster.nodes.map((n) => ({
      node: nodes.find((p) => p.name === n.name) as ProfileNode, address: n.address, pid: n.pid > 0 ? n.pid : null, metricsUrl: null, properties: n.properties,
    })),
    logDir: options.logDir,
    stop: cluster.stop,
  };
}
