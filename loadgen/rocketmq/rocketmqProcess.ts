// Starts Apache RocketMQ's name server and brokers (NamesrvStartup, BrokerStartup: one broker for
// `bench rocketmq start`, a profile's masters and slaves for `bench run --engine rocketmq`) as Java
// child processes on loopback, with logs, home and store in the given store directory. Ready
// = the name server lists every broker, and every master has its slaves' first HA report. Always stopped:
// SIGTERM (RocketMQ's shutdown hook flushes and unmaps), SIGKILL after a grace period, also
// when this process gets SIGINT/SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError, errorMessage } from '../../protocol/errors.js';
import { fetchClusterInfo } from '../topicAdmin.js';
import { javaMajorVersion, type RocketmqLib } from './fetch.js';
import { buildBrokerConfig, checkHeap, DEFAULT_BROKER_HEAP, DEFAULT_NAMESRV_HEAP, directMemoryBytes, jvmArgs, logbackXml, LOOPBACK } from './rocketmqConfig.js';
import { freeBrokerPort, freePort } from '../freePorts.js';

/** RocketMQ 4.9.x binds its ports on every address (it has no bind-address setting), so ports must be free on all of them. */
const ANY_INTERFACE = undefined;

export interface RocketmqStartOptions {
  lib: RocketmqLib;
  /** Everything goes below it: store/ (storePathRootDir), home/ (user.home: logs, conf). */
  storeDir: string;
  /** broker.properties keys (RocketMQ spelling). */
  settings?: Record<string, string>;
  brokerHeap?: string;
  namesrvHeap?: string;
  javaCommand?: string;
  readyTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL on stop. */
  stopGraceMs?: number;
  onProgress?: (line: string) => void;
}

export interface RocketmqCluster {
  version: string;
  namesrvAddress: string;
  brokerAddress: string;
  brokerName: string;
  brokerPropertiesPath: string;
  properties: Record<string, string>;
  replaced: Record<string, string>;
  warnings: string[];
  namesrvLogPath: string;
  brokerLogPath: string;
  pids: { namesrv: number; broker: number };
  /** Resolves when either process ends, with which one and how. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

interface JavaProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<string>;
  /** JVM stdout+stderr (InaccessibleObjectException and other startup failures land here). */
  outputPath: string;
}

const live = new Set<JavaProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const java of live) java.child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal} received, stopping ${live.size} RocketMQ process(es)…\n`);
      void Promise.all([...live].map((java) => stopJava(java, 30_000))).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

function spawnJava(name: string, javaCommand: string, args: string[], outputPath: string, env: NodeJS.ProcessEnv): JavaProcess {
  installExitHooks();
  const output = fs.openSync(outputPath, 'a');
  const child = spawn(javaCommand, args, { stdio: ['ignore', output, output], env });
  fs.closeSync(output);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`));
    child.once('error', (error) => resolve(`spawn error ${errorMessage(error)}`));
  });
  const java: JavaProcess = { name, child, exited, outputPath };
  live.add(java);
  void exited.then(() => live.delete(java));
  return java;
}

async function stopJava(java: JavaProcess, graceMs: number): Promise<string> {
  if (java.child.exitCode !== null || java.child.signalCode !== null) return java.exited;
  java.child.kill('SIGTERM');
  const timer = setTimeout(() => java.child.kill('SIGKILL'), graceMs);
  const how = await java.exited;
  clearTimeout(timer);
  return how;
}

function fileTail(filePath: string, lines: number): string {
  if (!fs.existsSync(filePath)) return `(no ${filePath})`;
  const text = fs.readFileSync(filePath, 'utf8');
  return `${filePath}:\n${text.slice(-16384).trim().split('\n').slice(-lines).join('\n')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with ROCKETMQ_START_FAILED as soon as one of the processes exits. */
function firstExit(processes: JavaProcess[]): { check: () => void } {
  let exitedWith: string | null = null;
  for (const java of processes) void java.exited.then((how) => (exitedWith ??= `${java.name} exited (${how})`));
  return { check: () => { if (exitedWith) throw new FlushbenchError('ROCKETMQ_START_FAILED', exitedWith); } };
}

/** Polls the name server until broker `brokerName`/`brokerId` is registered at `address`; fails early if a process exits. */
async function waitForBroker(namesrvAddress: string, broker: { brokerName: string; brokerId: string; address: string }, processes: JavaProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  const exits = firstExit(processes);
  while (Date.now() < deadline) {
    exits.check();
    try {
      const info = await fetchClusterInfo(namesrvAddress, 2000);
      const registered = info.brokerAddrTable?.[broker.brokerName]?.brokerAddrs?.[broker.brokerId];
      if (registered === broker.address) return;
      const who = `${broker.brokerName} (brokerId ${broker.brokerId})`;
      lastProblem = registered ? `name server lists ${who} at ${registered}, expected ${broker.address}` : `name server does not list ${who} yet`;
    } catch (error) {
      lastProblem = errorMessage(error);
    }
    await sleep(250);
  }
  throw new FlushbenchError('ROCKETMQ_START_TIMEOUT', `RocketMQ broker ${broker.brokerName}/${broker.brokerId} did not register with ${namesrvAddress} within ${timeoutMs} ms (${lastProblem})`);
}

/**
 * Waits until `slaves` slaves have reported their offset to the master, read from the master's
 * log ("slave[/ip:port] request offset N", HAConnection's ReadSocketService). RocketMQ 4.9.x
 * has no HA connection count in GET_BROKER_RUNTIME_INFO, and a connected slave is not enough:
 * its HAClient sends the first offset report only haSendHeartbeatInterval (5 s) after
 * connecting, and until then the master transfers nothing, so every SYNC_MASTER send waits
 * slaveTimeout (3 s) and answers FLUSH_SLAVE_TIMEOUT. We generate the logback config, so the
 * line is in broker.log.
 */
async function waitForSlaveReports(masterName: string, logPath: string, slaves: number, processes: JavaProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const exits = firstExit(processes);
  for (;;) {
    exits.check();
    const reported = slavesReported(fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');
    if (reported >= slaves) return;
    if (Date.now() > deadline) throw new FlushbenchError('SLAVE_NOT_CONNECTED', `${masterName}: ${reported}/${slaves} slave(s) reported their offset (HA) within ${timeoutMs} ms; see ${logPath}`);
    await sleep(200);
  }
}

/** Distinct slave addresses in a master's broker.log that sent an HA offset report. */
export function slavesReported(logText: string): number {
  return new Set([...logText.matchAll(/slave\[([^\]]+)\] request offset \d+/g)].map((m) => m[1])).size;
}

export interface RocketmqBrokerSpec {
  /** Node name (profile node), used for directories and logs. */
  name: string;
  /** broker.properties keys (RocketMQ spelling); brokerName, brokerId and brokerRole say what it is. */
  settings: Record<string, string>;
}

export interface RocketmqClusterOptions extends Omit<RocketmqStartOptions, 'settings'> {
  brokers: RocketmqBrokerSpec[];
  /** Directory layout; 'single' is `bench rocketmq start`'s (store/, home/), 'per-node' puts <name>/{store,home} per broker. */
  layout?: 'single' | 'per-node';
  /** per-node only: where each process's home (conf, logs) goes, e.g. the report's log directory; default storeDir. */
  homeRoot?: string;
}

export interface RocketmqNode {
  name: string;
  brokerName: string;
  brokerId: string;
  address: string;
  pid: number;
  propertiesPath: string;
  properties: Record<string, string>;
  replaced: Record<string, string>;
  warnings: string[];
  logPath: string;
}

export interface RocketmqMultiCluster {
  version: string;
  namesrvAddress: string;
  namesrvPid: number;
  namesrvLogPath: string;
  nodes: RocketmqNode[];
  exited: Promise<string>;
  stop(): Promise<void>;
}

function prepareHome(homeDir: string): string {
  const logDir = path.join(homeDir, 'logs', 'rocketmqlogs');
  fs.mkdirSync(path.join(homeDir, 'conf'), { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  fs.writeFileSync(path.join(homeDir, 'conf', 'logback_namesrv.xml'), logbackXml('namesrv'));
  fs.writeFileSync(path.join(homeDir, 'conf', 'logback_broker.xml'), logbackXml('broker'));
  return logDir;
}

/**
 * A name server, then every master, then every slave (a slave is told its master's HA address:
 * haMasterAddress = master listenPort + 1), each a JVM; ready when all are registered and each
 * master has heard from all its slaves (before that a SYNC_MASTER cannot ack anything).
 */
export async function startRocketmqCluster(options: RocketmqClusterOptions): Promise<RocketmqMultiCluster> {
  for (const heap of [options.brokerHeap, options.namesrvHeap]) {
    const problem = heap === undefined ? null : checkHeap(heap);
    if (problem) throw new FlushbenchError('BAD_HEAP', problem);
  }
  const progress = options.onProgress ?? (() => {});
  const javaCommand = options.javaCommand ?? 'java';
  const javaMajor = javaMajorVersion(javaCommand);
  const storeDir = path.resolve(options.storeDir);
  const single = (options.layout ?? 'per-node') === 'single';
  const homeRoot = single ? storeDir : path.resolve(options.homeRoot ?? storeDir);
  const namesrvHome = path.join(homeRoot, single ? 'home' : 'namesrv');
  const namesrvLogDir = prepareHome(namesrvHome);
  const taken = new Set<number>();
  const namesrvPort = await freePort(taken, ANY_INTERFACE);
  const namesrvAddress = `${LOOPBACK}:${namesrvPort}`;
  const namesrvPropertiesPath = path.join(namesrvHome, 'conf', 'namesrv.properties');
  fs.writeFileSync(namesrvPropertiesPath, `listenPort=${namesrvPort}\n`);
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const started: JavaProcess[] = [];
  const graceMs = options.stopGraceMs ?? 30_000;
  const brokerProcesses = () => started.filter((java) => java.name !== 'namesrv');
  const stop = async () => {
    // Brokers first (in parallel): each unregisters from the name server and flushes on the way down.
    await Promise.all(brokerProcesses().map((java) => stopJava(java, graceMs)));
    for (const java of started.filter((j) => j.name === 'namesrv')) await stopJava(java, graceMs);
  };
  const logFiles: string[] = [path.join(namesrvLogDir, 'namesrv.out')];
  const nodes: RocketmqNode[] = [];
  try {
    // ROCKETMQ_HOME and NAMESRV_ADDR from the user's shell must not point the processes elsewhere.
    const envFor = (home: string): NodeJS.ProcessEnv => ({ ...process.env, ROCKETMQ_HOME: home, NAMESRV_ADDR: namesrvAddress });
    progress(`starting RocketMQ ${options.lib.version} name server on ${namesrvAddress} (java ${javaMajor})…`);
    started.push(spawnJava('namesrv', javaCommand, jvmArgs({ javaMajor, homeDir: namesrvHome, libDir: options.lib.libDir, heap: options.namesrvHeap ?? DEFAULT_NAMESRV_HEAP }, 'org.apache.rocketmq.namesrv.NamesrvStartup', ['-c', namesrvPropertiesPath]), path.join(namesrvLogDir, 'namesrv.out'), envFor(namesrvHome)));
    const isSlave = (spec: RocketmqBrokerSpec) => spec.settings.brokerRole === 'SLAVE';
    const ordered = [...options.brokers.filter((b) => !isSlave(b)), ...options.brokers.filter(isSlave)];
    for (const spec of ordered) {
      const homeDir = single ? namesrvHome : path.join(homeRoot, spec.name, 'home');
      const logDir = single ? namesrvLogDir : prepareHome(homeDir);
      const listenPort = await freeBrokerPort(taken, ANY_INTERFACE);
      const brokerName = spec.settings.brokerName ?? 'broker-a';
      const master = nodes.find((n) => n.brokerName === brokerName && n.brokerId === '0');
      const settings = { ...spec.settings, ...(isSlave(spec) && master && !spec.settings.haMasterAddress ? { haMasterAddress: `${LOOPBACK}:${Number(master.properties.listenPort) + 1}` } : {}) };
      const config = buildBrokerConfig({ settings, ports: { listenPort, namesrvPort }, storeDir: path.join(single ? storeDir : path.join(storeDir, spec.name), 'store') });
      const propertiesPath = path.join(homeDir, 'conf', 'broker.properties');
      fs.writeFileSync(propertiesPath, config.text);
      const address = `${LOOPBACK}:${listenPort}`;
      progress(`starting RocketMQ broker ${spec.name} (${config.properties.brokerRole}, ${config.properties.flushDiskType}) on ${address}, store ${config.properties.storePathRootDir}…`);
      const brokerArgs = jvmArgs({ javaMajor, homeDir, libDir: options.lib.libDir, heap: options.brokerHeap ?? DEFAULT_BROKER_HEAP, directMemoryBytes: directMemoryBytes(config.properties) }, 'org.apache.rocketmq.broker.BrokerStartup', ['-c', propertiesPath, '-n', namesrvAddress]);
      logFiles.push(path.join(logDir, 'broker.out'), path.join(logDir, 'broker.log'));
      const java = spawnJava(single ? 'broker' : spec.name, javaCommand, brokerArgs, path.join(logDir, 'broker.out'), envFor(homeDir));
      started.push(java);
      const node: RocketmqNode = {
        name: spec.name, brokerName, brokerId: config.properties.brokerId, address, pid: java.child.pid ?? -1, propertiesPath,
        properties: config.properties, replaced: config.replaced, warnings: config.warnings, logPath: path.join(logDir, 'broker.log'),
      };
      await waitForBroker(namesrvAddress, node, started, readyTimeoutMs);
      nodes.push(node);
    }
    for (const master of nodes.filter((n) => n.brokerId === '0')) {
      const slaves = nodes.filter((n) => n.brokerName === master.brokerName && n.brokerId !== '0').length;
      if (slaves > 0) await waitForSlaveReports(master.name, master.logPath, slaves, started, readyTimeoutMs);
    }
  } catch (error) {
    await Promise.all(started.map((java) => stopJava(java, 2000)));
    const tails = [...logFiles.slice(1), logFiles[0]].map((file) => fileTail(file, 15)).join('\n');
    throw new FlushbenchError((error as FlushbenchError).code ?? 'ROCKETMQ_START_FAILED', `${errorMessage(error)}\n${tails}`);
  }
  return {
    version: options.lib.version, namesrvAddress, namesrvPid: started[0].child.pid ?? -1, namesrvLogPath: path.join(namesrvLogDir, 'namesrv.log'), nodes,
    exited: Promise.race(started.map((java) => java.exited.then((how) => `${java.name} exited (${how})`))),
    stop,
  };
}

/** One name server and one broker with `bench rocketmq start`'s layout (store/, home/ under storeDir). */
export async function startRocketmq(options: RocketmqStartOptions): Promise<RocketmqCluster> {
  const cluster = await startRocketmqCluster({ ...options, brokers: [{ name: 'broker', settings: options.settings ?? {} }], layout: 'single' });
  const [broker] = cluster.nodes;
  return {
    version: cluster.version, namesrvAddress: cluster.namesrvAddress, brokerAddress: broker.address, brokerName: broker.brokerName, brokerPropertiesPath: broker.propertiesPath,
    properties: broker.properties, replaced: broker.replaced, warnings: broker.warnings,
    namesrvLogPath: cluster.namesrvLogPath, brokerLogPath: broker.logPath,
    pids: { namesrv: cluster.namesrvPid, broker: broker.pid },
    exited: cluster.exited,
    stop: cluster.stop,
  };
}

/** Lines in the JVMs' output and RocketMQ's logs that say a module flag is missing (empty = none). */
export function moduleAccessErrors(logDir: string): string[] {
  const found: string[] = [];
  for (const file of ['namesrv.out', 'broker.out', 'namesrv.log', 'broker.log']) {
    const filePath = path.join(logDir, file);
    if (!fs.existsSync(filePath)) continue;
    for (const line of fs.readFileSync(filePath, 'utf8').split('\n')) {
      if (/InaccessibleObjectException|IllegalAccessError|does not "(opens|exports)/.test(line)) found.push(`${file}: ${line.trim()}`);
    }
  }
  return found;
}
