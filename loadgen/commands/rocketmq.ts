// `bench rocketmq fetch|start`: Apache RocketMQ itself (jars from Maven Central) on the disk
// under test, so `bench run --namesrv` can drive the real broker next to ours.
import path from 'node:path';
import type { Command } from 'commander';
import { FlushbenchError } from '../../protocol/errors.js';
import { DEFAULT_ROCKETMQ_VERSION, fetchRocketmq, type RocketmqLib } from '../rocketmq/fetch.js';
import { moduleAccessErrors, startRocketmq } from '../rocketmq/rocketmqProcess.js';
import { DEFAULT_BROKER_HEAP, DEFAULT_NAMESRV_HEAP } from '../rocketmq/rocketmqConfig.js';

interface LibOptions {
  version: string;
  cacheDir?: string;
  rocketmqHome?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** --set key=value pairs as a map; a pair without "=" is an error that names it. */
export function parseSettings(pairs: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const cut = pair.indexOf('=');
    if (cut <= 0) throw new FlushbenchError('BAD_SETTING', `--set ${pair}: expected key=value (a broker.properties key, e.g. flushDiskType=SYNC_FLUSH)`);
    settings[pair.slice(0, cut).trim()] = pair.slice(cut + 1).trim();
  }
  return settings;
}

function resolveLib(options: LibOptions, quiet = false): RocketmqLib {
  return fetchRocketmq({
    version: options.version, cacheDir: options.cacheDir, rocketmqHome: options.rocketmqHome,
    onProgress: quiet ? undefined : (line) => process.stderr.write(`bench rocketmq: ${line}\n`),
  });
}

function addLibOptions(command: Command): Command {
  return command
    .option('--version <version>', 'Apache RocketMQ version on Maven Central', DEFAULT_ROCKETMQ_VERSION)
    .option('--cache-dir <dir>', 'where the jars go (default $XDG_CACHE_HOME or ~/.cache, then flushbench/rocketmq-<version>)')
    .option('--rocketmq-home <dir>', 'use an unpacked binary distribution (DIR/lib/*.jar) instead of Maven');
}

export function register(program: Command): void {
  const rocketmq = program.command('rocketmq').description('Apache RocketMQ itself (name server + broker from Maven Central) on the disk under test');
  addLibOptions(rocketmq.command('fetch'))
    .description('download RocketMQ\'s jars with Maven (cached; reused without Maven once complete)')
    .option('--json', 'print the result as JSON')
    .action((options: LibOptions & { json?: boolean }) => {
      const lib = resolveLib(options, options.json);
      if (options.json) process.stdout.write(`${JSON.stringify(lib, null, 2)}\n`);
      else process.stdout.write(`RocketMQ ${lib.version}: ${lib.jarCount} jars in ${lib.libDir} (${lib.source})${lib.benchmarkProducer ? '' : '; no benchmark Producer (rocketmq-example)'}\n`);
    });
  addLibOptions(rocketmq.command('start'))
    .description('run a RocketMQ name server and one broker in the foreground on 127.0.0.1; Ctrl-C stops both')
    .requiredOption('--store-dir <dir>', 'the disk under test: store/, logs and generated config go below it')
    .option('--set <key=value>', 'broker.properties key (repeatable), e.g. --set flushDiskType=SYNC_FLUSH', collect, [])
    .option('--broker-heap <size>', 'broker -Xms/-Xmx (runbroker.sh uses 8g)', DEFAULT_BROKER_HEAP)
    .option('--namesrv-heap <size>', 'name server -Xms/-Xmx', DEFAULT_NAMESRV_HEAP)
    .option('--timeout <s>', 'seconds to wait for the broker to register', '60')
    .addHelpText('after', '\nExample:\n  bench rocketmq start --store-dir /mnt/ssd/rmq --set flushDiskType=SYNC_FLUSH\n  bench run --profile single-sync-flush --namesrv 127.0.0.1:PORT   (in another shell)\n')
    .action(async (options: LibOptions & { storeDir: string; set: string[]; brokerHeap: string; namesrvHeap: string; timeout: string }) => {
      const timeoutS = Number(options.timeout);
      if (!(timeoutS > 0)) throw new FlushbenchError('BAD_TIMEOUT', `--timeout ${options.timeout} must be a positive number of seconds`);
      const settings = parseSettings(options.set);
      const lib = resolveLib(options);
      const cluster = await startRocketmq({
        lib, storeDir: options.storeDir, settings, brokerHeap: options.brokerHeap, namesrvHeap: options.namesrvHeap,
        readyTimeoutMs: timeoutS * 1000, onProgress: (line) => process.stderr.write(`bench rocketmq: ${line}\n`),
      });
      for (const warning of cluster.warnings) process.stderr.write(`bench rocketmq: warning: ${warning}\n`);
      for (const [key, asked] of Object.entries(cluster.replaced)) process.stderr.write(`bench rocketmq: ${key}=${asked} replaced by ${cluster.properties[key]} (the launcher owns ports, addresses and store paths)\n`);
      process.stdout.write(`RocketMQ ${cluster.version} broker ${cluster.brokerName} at ${cluster.brokerAddress}, config ${cluster.brokerPropertiesPath}\n`);
      process.stdout.write(`rocketmq namesrv listening on ${cluster.namesrvAddress}\n`);
      process.stderr.write(`bench rocketmq: logs in ${path.dirname(cluster.brokerLogPath)}; Ctrl-C stops\n`);
      let stopping = false;
      const stop = () => {
        stopping = true;
        process.stderr.write('bench rocketmq: stopping broker and name server…\n');
        void cluster.stop().then(() => {
          const problems = moduleAccessErrors(path.dirname(cluster.brokerLogPath));
          for (const line of problems) process.stderr.write(`bench rocketmq: JVM module access error: ${line}\n`);
          process.exit(problems.length > 0 ? 1 : 0);
        });
      };
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void cluster.exited.then((how) => {
        if (stopping) return;
        process.stderr.write(`bench rocketmq: ${how} on its own; see ${path.dirname(cluster.brokerLogPath)}\n`);
        void cluster.stop().then(() => process.exit(1));
      });
    });
}
