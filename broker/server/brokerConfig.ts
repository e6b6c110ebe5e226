// broker.properties → BrokerConfig. RocketMQ's key names and 4.9.x defaults (users paste
// their files); command-line `--key=value` overrides win. Unknown keys warn, bad values fail
// with the key, the value and what is allowed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseProperties } from 'dot-properties';
import { FlushbenchError } from '../../protocol/errors.js';
import { parseMessageDelayLevel } from '../store/delayLevels.js';
import { DEFAULT_LISTEN_HOST, isLoopbackHost } from './listenHost.js';
import { type BrokerRole, defaultStoreConfig, type FlushDiskType, type StoreConfig } from '../store/storeConfig.js';
import { HA_DEFAULTS, resolveStoreSettings } from '../store/storeSettings.js';
import type { SlaveAckRule } from '../ha/groupTransfer.js';
import { ROCKETMQ_VERSION_DEFAULT, versionDefaults } from './rocketmqVersion.js';
import { DLEDGER_KEYS, dledgerEffectiveSettings, type DLedgerSettings, followerBrokerId, parseDLedgerSettings } from '../dledger/dledgerConfig.js';

export interface BrokerConfig {
  brokerClusterName: string;
  brokerName: string;
  brokerId: number;
  namesrvAddr: string;
  listenPort: number;
  /**
   * Address every listening socket binds (remoting, VIP, HA, metrics HTTP); 127.0.0.1 unless
   * told otherwise. brokerIP1 is only what the broker advertises to clients and name servers.
   */
  listenHost: string;
  brokerIP1: string;
  brokerIP2: string;
  haListenPort: number;
  haSendHeartbeatInterval: number;
  haHousekeepingInterval: number;
  haTransferBatchSize: number;
  haMasterAddress: string;
  slaveReadEnable: boolean;
  accessMessageInMemoryMaxRatio: number;
  longPollingEnable: boolean;
  shortPollingTimeMills: number;
  autoCreateTopicEnable: boolean;
  autoCreateSubscriptionGroup: boolean;
  defaultTopicQueueNums: number;
  registerNameServerPeriod: number;
  brokerPermission: number;
  /** The RocketMQ release whose defaults and failure timing apply (rocketmqVersion.ts); default 4.9.7. */
  rocketmqVersion: string;
  /** 'slaveTimeout' (RocketMQ ≥ 4.9.3) or 'syncFlushTimeout' (≤ 4.9.2): the SYNC_MASTER deadline. */
  slaveAckDeadlineSource: 'slaveTimeout' | 'syncFlushTimeout';
  slaveAckDeadlineMs: number;
  /** When FLUSH_SLAVE_TIMEOUT lands, by version (broker/ha/groupTransfer.ts). */
  slaveAckRule: SlaveAckRule;
  /** BrokerFastFailure: answer SYSTEM_BUSY to sends that waited too long (broker/server/sendQueue.ts). */
  brokerFastFailureEnable: boolean;
  waitTimeMillsInSendQueue: number;
  sendThreadPoolQueueCapacity: number;
  /** The version's default, shown for comparison; one event loop does the work here. */
  sendMessageThreadPoolNums: number;
  /** 'modern' (≥ 4.5.2: mappedFileSizeCommitLog) or 'legacy' (≤ 4.5.1: mapedFileSizeCommitLog). */
  rocketmqVersionCompat: 'modern' | 'legacy';
  /** Which segment-size key took effect, for reports. */
  segmentSizeKey: string;
  metricsPort: number;
  /** Bind address of the metrics HTTP server; defaults to listenHost. */
  metricsHost: string;
  /** Serve POST /produce/<topic> on the metrics port (the --driver http load); off by default. */
  httpProduceEnable: boolean;
  ackWithoutStore: boolean;
  store: StoreConfig;
  /** enableDLegerCommitLog=true: the DLedger group; brokerRole and brokerId then follow the elected role. */
  dledger: DLedgerSettings | null;
  warnings: string[];
  effectiveSettings(): Record<string, string>;
}

type Kind = 'int' | 'bool' | 'string' | readonly string[];

/** Every key we read, with its type; store keys map into StoreConfig. */
const BROKER_KEYS: Record<string, Kind> = {
  brokerClusterName: 'string', brokerName: 'string', brokerId: 'int', namesrvAddr: 'string', listenPort: 'int', listenHost: 'string',
  brokerIP1: 'string', brokerIP2: 'string', haListenPort: 'int', haSendHeartbeatInterval: 'int', haHousekeepingInterval: 'int',
  haTransferBatchSize: 'int', haMasterAddress: 'string', slaveReadEnable: 'bool',
  longPollingEnable: 'bool', shortPollingTimeMills: 'int', autoCreateTopicEnable: 'bool', autoCreateSubscriptionGroup: 'bool',
  defaultTopicQueueNums: 'int', registerNameServerPeriod: 'int', brokerPermission: 'int',
  slaveAckDeadlineSource: ['slaveTimeout', 'syncFlushTimeout'], rocketmqVersionCompat: ['modern', 'legacy'], rocketmqVersion: 'string',
  brokerFastFailureEnable: 'bool', waitTimeMillsInSendQueue: 'int', sendThreadPoolQueueCapacity: 'int', sendMessageThreadPoolNums: 'int',
  metricsPort: 'int', metricsHost: 'string', httpProduceEnable: 'bool', ackWithoutStore: 'bool', aclEnable: 'bool',
};

const STORE_KEYS: Record<string, Kind> = {
  storePathRootDir: 'string', storePathCommitLog: 'string', mappedFileSizeCommitLog: 'int', mapedFileSizeCommitLog: 'int',
  mappedFileSizeConsumeQueue: 'int', mapedFileSizeConsumeQueue: 'int', maxMessageSize: 'int',
  flushDiskType: ['ASYNC_FLUSH', 'SYNC_FLUSH'], brokerRole: ['ASYNC_MASTER', 'SYNC_MASTER', 'SLAVE'],
  flushIntervalCommitLog: 'int', flushCommitLogLeastPages: 'int', flushCommitLogThoroughInterval: 'int', flushCommitLogTimed: 'bool',
  commitIntervalCommitLog: 'int', commitCommitLogLeastPages: 'int', commitCommitLogThoroughInterval: 'int',
  transientStorePoolEnable: 'bool', transientStorePoolSize: 'int', syncFlushTimeout: 'int', flushIntervalConsumeQueue: 'int',
  flushConsumeQueueLeastPages: 'int', flushConsumeQueueThoroughInterval: 'int', checkCRCOnRecover: 'bool', slaveTimeout: 'int',
  haSlaveFallbehindMax: 'int', messageDelayLevel: 'string', flushDelayOffsetInterval: 'int', accessMessageInMemoryMaxRatio: 'int',
  osPageCacheBusyTimeOutMills: 'int',
};

/** Keys RocketMQ knows that this broker accepts but does not act on (no warning, noted in settings). */
const KNOWN_IGNORED = new Set([
  'deleteWhen', 'fileReservedTime', 'diskMaxUsedSpaceRatio', 'pullMessageThreadPoolNums',
  'useReentrantLockWhenPutMessage', 'transferMsgByHeap', 'maxTransferBytesOnMessageInMemory', 'maxTransferCountOnMessageInMemory',
  'maxTransferBytesOnMessageInDisk', 'maxTransferCountOnMessageInDisk', 'traceTopicEnable', 'enablePropertyFilter',
  'warmMapedFileEnable', 'flushLeastPagesWhenWarmMapedFile', 'fetchNamesrvAddrByAddressServer',
]);

function convert(key: string, raw: string, kind: Kind): string | number | boolean {
  const value = raw.trim();
  if (kind === 'string') return value;
  if (kind === 'int') {
    if (!/^-?\d+$/.test(value)) throw new FlushbenchError('BAD_CONFIG', `${key}=${raw} is not an integer`);
    return Number(value);
  }
  if (kind === 'bool') {
    if (value !== 'true' && value !== 'false') throw new FlushbenchError('BAD_CONFIG', `${key}=${raw} must be true or false`);
    return value === 'true';
  }
  if (!kind.includes(value)) throw new FlushbenchError('BAD_CONFIG', `${key}=${raw} is not allowed; use one of ${kind.join(', ')}`);
  return value;
}

function expandHome(value: string): string {
  return value.startsWith('~') ? path.join(os.homedir(), value.slice(1)) : value.replace('${user.home}', os.homedir());
}

/** Parses `--key=value` / `key=value` overrides. */
export function parseOverrides(overrides: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of overrides) {
    const match = /^(?:--)?([A-Za-z][\w.]*)=(.*)$/.exec(item);
    if (!match) throw new FlushbenchError('BAD_OVERRIDE', `"${item}" is not key=value`);
    out[match[1]] = match[2];
  }
  return out;
}

export function loadBrokerConfigFile(filePath: string, overrides: string[] = []): BrokerConfig {
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new FlushbenchError('CONFIG_UNREADABLE', `cannot read ${filePath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return brokerConfigFrom({ ...parseProperties(text), ...parseOverrides(overrides) } as Record<string, string>);
}

/** Builds a BrokerConfig from raw key/value pairs (file + overrides already merged). */
export function brokerConfigFrom(raw: Record<string, string>, env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const warnings: string[] = [];
  const values: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(raw)) {
    const kind = BROKER_KEYS[key] ?? STORE_KEYS[key];
    if (kind) values[key] = convert(key, String(value), kind);
    else if (!KNOWN_IGNORED.has(key) && !DLEDGER_KEYS.has(key)) warnings.push(`unknown key ${key} ignored (RocketMQ would ignore it too)`);
  }
  const get = <T>(key: string, fallback: T): T => (key in values ? (values[key] as T) : fallback);

  const version = versionDefaults(get('rocketmqVersion', ROCKETMQ_VERSION_DEFAULT));
  const compat = get<'modern' | 'legacy'>('rocketmqVersionCompat', version.rocketmqVersionCompat);
  const root = expandHome(get('storePathRootDir', path.join(os.homedir(), 'store')));
  const store = defaultStoreConfig(root);
  store.flushCommitLogTimed = version.flushCommitLogTimed; // the version's default; an explicit key below wins
  for (const key of Object.keys(STORE_KEYS)) {
    if (key in values && key in store) (store as unknown as Record<string, unknown>)[key] = values[key];
  }
  store.storePathRootDir = root;
  store.storePathCommitLog = expandHome(get('storePathCommitLog', path.join(root, 'commitlog')));
  // Segment size: ≥ 4.5.2 reads mappedFileSizeCommitLog and ignores the old spelling; ≤ 4.5.1 the reverse.
  let segmentSizeKey = 'default';
  const modern = values.mappedFileSizeCommitLog as number | undefined;
  const legacy = values.mapedFileSizeCommitLog as number | undefined;
  if (compat === 'modern') {
    if (modern !== undefined) segmentSizeKey = 'mappedFileSizeCommitLog';
    if (legacy !== undefined) warnings.push(`mapedFileSizeCommitLog=${legacy} is the pre-4.5.2 spelling and is ignored like RocketMQ ≥ 4.5.2 does; use mappedFileSizeCommitLog (or rocketmqVersionCompat=legacy)`);
    store.mappedFileSizeCommitLog = modern ?? store.mappedFileSizeCommitLog;
  } else {
    if (legacy !== undefined) segmentSizeKey = 'mapedFileSizeCommitLog';
    if (modern !== undefined) warnings.push(`mappedFileSizeCommitLog=${modern} is ignored in legacy (≤ 4.5.1) mode; use mapedFileSizeCommitLog`);
    store.mappedFileSizeCommitLog = legacy ?? store.mappedFileSizeCommitLog;
  }
  const cqSize = (values.mappedFileSizeConsumeQueue ?? values.mapedFileSizeConsumeQueue) as number | undefined;
  if (cqSize !== undefined) store.mappedFileSizeConsumeQueue = Math.ceil(cqSize / 20) * 20;
  parseMessageDelayLevel(store.messageDelayLevel); // refuse a bad value now, naming the key
  if (store.flushDelayOffsetInterval <= 0) throw new FlushbenchError('BAD_CONFIG', `flushDelayOffsetInterval=${store.flushDelayOffsetInterval} must be > 0 (ms between writes of config/delayOffset.json)`);

  const dledger = parseDLedgerSettings(raw);
  const configuredRole = store.brokerRole;
  // DLedger: brokerRole is ignored; the store starts as a master that refuses writes until elected.
  if (dledger) store.brokerRole = 'ASYNC_MASTER';
  const role = store.brokerRole as BrokerRole;
  let brokerId = get('brokerId', 0);
  if (dledger) brokerId = followerBrokerId(dledger.selfId); // a member starts as a slave; the elected leader becomes 0 (DLedgerRoleChangeHandler)
  else if (role !== 'SLAVE' && brokerId !== 0) {
    warnings.push(`brokerId=${brokerId} is forced to 0 on a master (brokerRole=${role}), as RocketMQ does`);
    brokerId = 0;
  }
  if (role === 'SLAVE' && brokerId <= 0) throw new FlushbenchError('BAD_CONFIG', 'brokerRole=SLAVE needs brokerId > 0 (0 is the master)');
  const listenPort = get('listenPort', 10911);
  if (listenPort <= 0 || listenPort > 65535) throw new FlushbenchError('BAD_CONFIG', `listenPort=${listenPort} must be 1..65535`);
  if ('haListenPort' in values && values.haListenPort !== listenPort + HA_DEFAULTS.haListenPortOffset) {
    warnings.push(`haListenPort=${values.haListenPort} is overridden to listenPort+1=${listenPort + 1}, as RocketMQ's BrokerStartup does`);
  }
  warnings.push(...resolveStoreSettings(store).warnings); // sizes, pool rule: one place (store/storeSettings.ts)
  const deadlineSource = get<'slaveTimeout' | 'syncFlushTimeout'>('slaveAckDeadlineSource', version.slaveAckDeadlineSource);
  const waitTimeMillsInSendQueue = get('waitTimeMillsInSendQueue', 200);
  if (waitTimeMillsInSendQueue < 0) throw new FlushbenchError('BAD_CONFIG', `waitTimeMillsInSendQueue=${waitTimeMillsInSendQueue} must be ≥ 0 (ms a send may wait before SYSTEM_BUSY; RocketMQ's default is 200)`);
  const sendThreadPoolQueueCapacity = get('sendThreadPoolQueueCapacity', 10_000);
  if (sendThreadPoolQueueCapacity <= 0) throw new FlushbenchError('BAD_CONFIG', `sendThreadPoolQueueCapacity=${sendThreadPoolQueueCapacity} must be > 0 (RocketMQ's default is 10000)`);
  // RocketMQ's PlainAccessValidator is not implemented: running "secured" without it would be a lie.
  if (get('aclEnable', false)) throw new FlushbenchError('ACL_NOT_SUPPORTED', 'aclEnable=true: flushbench has no ACL; remove aclEnable or set it false');
  const brokerIP1 = get('brokerIP1', '127.0.0.1');
  const listenHost = get('listenHost', DEFAULT_LISTEN_HOST);
  const metricsHost = get('metricsHost', listenHost);
  warnings.push(...exposureWarnings(brokerIP1, listenHost, metricsHost));
  const config: BrokerConfig = {
    brokerClusterName: get('brokerClusterName', 'DefaultCluster'),
    brokerName: get('brokerName', os.hostname()),
    brokerId,
    namesrvAddr: get('namesrvAddr', env.NAMESRV_ADDR ?? ''),
    listenPort,
    listenHost,
    brokerIP1,
    brokerIP2: get('brokerIP2', brokerIP1),
    haListenPort: listenPort + HA_DEFAULTS.haListenPortOffset,
    haSendHeartbeatInterval: get('haSendHeartbeatInterval', HA_DEFAULTS.haSendHeartbeatInterval),
    haHousekeepingInterval: get('haHousekeepingInterval', HA_DEFAULTS.haHousekeepingInterval),
    haTransferBatchSize: get('haTransferBatchSize', HA_DEFAULTS.haTransferBatchSize),
    haMasterAddress: get('haMasterAddress', ''),
    slaveReadEnable: get('slaveReadEnable', false),
    accessMessageInMemoryMaxRatio: store.accessMessageInMemoryMaxRatio,
    longPollingEnable: get('longPollingEnable', true),
    shortPollingTimeMills: get('shortPollingTimeMills', 1000),
    autoCreateTopicEnable: get('autoCreateTopicEnable', true),
    autoCreateSubscriptionGroup: get('autoCreateSubscriptionGroup', true),
    defaultTopicQueueNums: get('defaultTopicQueueNums', 8),
    registerNameServerPeriod: get('registerNameServerPeriod', 30_000),
    brokerPermission: get('brokerPermission', 6),
    rocketmqVersion: version.version,
    slaveAckDeadlineSource: deadlineSource,
    slaveAckDeadlineMs: deadlineSource === 'slaveTimeout' ? store.slaveTimeout : store.syncFlushTimeout,
    slaveAckRule: version.slaveAckRule,
    brokerFastFailureEnable: get('brokerFastFailureEnable', true),
    waitTimeMillsInSendQueue,
    sendThreadPoolQueueCapacity,
    sendMessageThreadPoolNums: get('sendMessageThreadPoolNums', version.sendMessageThreadPoolNums),
    rocketmqVersionCompat: compat,
    segmentSizeKey,
    metricsPort: get('metricsPort', 0),
    metricsHost,
    httpProduceEnable: get('httpProduceEnable', false),
    ackWithoutStore: get('ackWithoutStore', false),
    store,
    dledger,
    warnings,
    effectiveSettings: () => ({ ...effectiveSettings(config), ...dledgerEffectiveSettings(dledger, configuredRole) }),
  };
  return config;
}

/** A broker reachable from other hosts has no authentication: say so; and say when clients cannot reach it. */
function exposureWarnings(brokerIP1: string, listenHost: string, metricsHost: string): string[] {
  const warnings: string[] = [];
  for (const [key, host] of [['listenHost', listenHost], ['metricsHost', metricsHost]] as const) {
    if (!isLoopbackHost(host) && (key === 'listenHost' || host !== listenHost)) {
      warnings.push(`${key}=${host} is not a loopback address: the broker's ports are reachable from other hosts, and flushbench has no ACL or TLS`);
    }
  }
  if (isLoopbackHost(listenHost) && !isLoopbackHost(brokerIP1)) {
    warnings.push(`brokerIP1=${brokerIP1} is advertised to clients, but the broker listens on ${listenHost} only; set listenHost=${brokerIP1} (or 0.0.0.0) to accept them`);
  }
  return warnings;
}

function effectiveSettings(config: BrokerConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'store' || key === 'warnings' || key === 'dledger' || typeof value === 'function') continue;
    out[key] = String(value);
  }
  for (const [key, value] of Object.entries(config.store)) out[key] = String(value);
  Object.assign(out, resolveStoreSettings(config.store).effective);
  out.aclEnable = 'false (refused: flushbench has no ACL)';
  out.sendMessageThreadPoolNums = `${config.sendMessageThreadPoolNums} (not used: one event loop; sends wait only behind a CommitLog write in flight)`;
  return out;
}

export type { BrokerRole, FlushDiskType };
