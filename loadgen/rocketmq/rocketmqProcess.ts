// Starts Apache RocketMQ's name server and one broker (NamesrvStartup, BrokerStartup) as Java
// child processes on loopback, with logs, home and store in the given store directory. Ready
// = the name server answers GET_BROKER_CLUSTER_INFO and lists this broker. Always stopped:
// SIGTERM (RocketMQ's shutdown hook flushes and unmaps), SIGKILL after a grace period, also
// when this process gets SIGINT/SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { FlushbenchError, errorMessage } from '../../protocol/errors.js';
import { fetchClusterInfo } from '../topicAdmin.js';
import { javaMajorVersion, type RocketmqLib } from './fetch.js';
import { buildBrokerConfig, checkHeap, DEFAULT_BROKER_HEAP, DEFAULT_NAMESRV_HEAP, directMemoryBytes, jvmArgs, logbackXml, LOOPBACK } from './rocketmqConfig.js';

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

/** Free on every interface: RocketMQ 4.9.x binds its ports on all addresses, not loopback. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** A name server port and a broker listenPort whose listenPort − 2 (VIP) … + 1 (HA) are all free. */
export async function pickPorts(): Promise<{ namesrvPort: number; listenPort: number }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const listenPort = 20_000 + Math.floor(Math.random() * 20_000);
    const namesrvPort = listenPort + 3;
    const block = [listenPort - 2, listenPort - 1, listenPort, listenPort + 1, namesrvPort];
    if ((await Promise.all(block.map(portFree))).every(Boolean)) return { namesrvPort, listenPort };
  }
  throw new FlushbenchError('NO_FREE_PORT', 'found no free port block (listenPort − 2 … listenPort + 3) in 20000-40000 for the RocketMQ name server and broker');
}

function fileTail(filePath: string, lines: number): string {
  if (!fs.existsSync(filePath)) return `(no ${filePath})`;
  const text = fs.readFileSync(filePath, 'utf8');
  return `${filePath}:\n${text.slice(-16384).trim().split('\n').slice(-lines).join('\n')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls the name server until `brokerName` is registered at `brokerAddress`; fails early if a process exits. */
async function waitForBroker(namesrvAddress: string, brokerName: string, brokerAddress: string, processes: JavaProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  let exitedWith: string | null = null;
  for (const java of processes) void java.exited.then((how) => (exitedWith ??= `${java.name} exited (${how})`));
  while (Date.now() < deadline) {
    if (exitedWith) throw new FlushbenchError('ROCKETMQ_START_FAILED', exitedWith);
    try {
      const info = await fetchClusterInfo(namesrvAddress, 2000);
      const registered = info.brokerAddrTable?.[brokerName]?.brokerAddrs?.['0'];
      if (registered === brokerAddress) return;
      lastProblem = registered ? `name server lists ${brokerName} at ${registered}, expected ${brokerAddress}` : `name server does not list ${brokerName} yet`;
    } catch (error) {
      lastProblem = errorMessage(error);
    }
    await sleep(250);
  }
  throw new FlushbenchError('ROCKETMQ_START_TIMEOUT', `the RocketMQ broker did not register with ${namesrvAddress} within ${timeoutMs} ms (${lastProblem})`);
}

export async function startRocketmq(options: RocketmqStartOptions): Promise<RocketmqCluster> {
  for (const heap of [options.brokerHeap, options.namesrvHeap]) {
    const problem = heap === undefined ? null : checkHeap(heap);
    if (problem) throw new FlushbenchError('BAD_HEAP', problem);
  }
  const progress = options.onProgress ?? (() => {});
  const javaCommand = options.javaCommand ?? 'java';
  const javaMajor = javaMajorVersion(javaCommand);
  const storeDir = path.resolve(options.storeDir);
  const homeDir = path.join(storeDir, 'home');
  const logDir = path.join(homeDir, 'logs', 'rocketmqlogs');
  fs.mkdirSync(path.join(homeDir, 'conf'), { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  fs.writeFileSync(path.join(homeDir, 'conf', 'logback_namesrv.xml'), logbackXml('namesrv'));
  fs.writeFileSync(path.join(homeDir, 'conf', 'logback_broker.xml'), logbackXml('broker'));

  const ports = await pickPorts();
  const config = buildBrokerConfig({ settings: options.settings ?? {}, ports, storeDir: path.join(storeDir, 'store') });
  const brokerPropertiesPath = path.join(homeDir, 'conf', 'broker.properties');
  const namesrvPropertiesPath = path.join(homeDir, 'conf', 'namesrv.properties');
  fs.writeFileSync(brokerPropertiesPath, config.text);
  fs.writeFileSync(namesrvPropertiesPath, `listenPort=${ports.namesrvPort}\n`);
  const namesrvAddress = `${LOOPBACK}:${ports.namesrvPort}`;
  const brokerAddress = `${LOOPBACK}:${ports.listenPort}`;
  const brokerName = config.properties.brokerName;
  // ROCKETMQ_HOME and NAMESRV_ADDR from the user's shell must not point the processes elsewhere.
  const env: NodeJS.ProcessEnv = { ...process.env, ROCKETMQ_HOME: homeDir, NAMESRV_ADDR: namesrvAddress };
  const base = { javaMajor, homeDir, libDir: options.lib.libDir };

  const started: JavaProcess[] = [];
  const graceMs = options.stopGraceMs ?? 30_000;
  const stop = async () => {
    // Broker first: it unregisters from the name server and flushes on the way down.
    for (const java of [...started].reverse()) await stopJava(java, graceMs);
  };
  try {
    progress(`starting RocketMQ ${options.lib.version} name server on ${namesrvAddress} (java ${javaMajor})…`);
    started.push(spawnJava('namesrv', javaCommand, jvmArgs({ ...base, heap: options.namesrvHeap ?? DEFAULT_NAMESRV_HEAP }, 'org.apache.rocketmq.namesrv.NamesrvStartup', ['-c', namesrvPropertiesPath]), path.join(logDir, 'namesrv.out'), env));
    progress(`starting RocketMQ broker ${brokerName} on ${brokerAddress}, store ${config.properties.storePathRootDir}…`);
    const brokerArgs = jvmArgs({ ...base, heap: options.brokerHeap ?? DEFAULT_BROKER_HEAP, directMemoryBytes: directMemoryBytes(config.properties) }, 'org.apache.rocketmq.broker.BrokerStartup', ['-c', brokerPropertiesPath, '-n', namesrvAddress]);
    started.push(spawnJava('broker', javaCommand, brokerArgs, path.join(logDir, 'broker.out'), env));
    await waitForBroker(namesrvAddress, brokerName, brokerAddress, started, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await Promise.all(started.map((java) => stopJava(java, 2000)));
    const tails = ['broker.out', 'broker.log', 'namesrv.out'].map((file) => fileTail(path.join(logDir, file), 15)).join('\n');
    throw new FlushbenchError((error as FlushbenchError).code ?? 'ROCKETMQ_START_FAILED', `${errorMessage(error)}\n${tails}`);
  }
  return {
    version: options.lib.version, namesrvAddress, brokerAddress, brokerName, brokerPropertiesPath,
    properties: config.properties, replaced: config.replaced, warnings: config.warnings,
    namesrvLogPath: path.join(logDir, 'namesrv.log'), brokerLogPath: path.join(logDir, 'broker.log'),
    pids: { namesrv: started[0].child.pid ?? -1, broker: started[1].child.pid ?? -1 },
    exited: Promise.race(started.map((java) => java.exited.then((how) => `${java.name} exited (${how})`))),
    stop,
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
