// `bench broker -c broker.properties [--key=value …]`: one RocketMQ-compatible broker.
import type { Command } from 'commander';
import { BrokerController } from '../../broker/server/brokerController.js';
import { brokerConfigFrom, parseOverrides } from '../../broker/server/brokerConfig.js';
import { installProcessGuard } from '../../broker/server/processGuard.js';
import { loadPropertiesFile } from './propertiesFile.js';

export function register(program: Command): void {
  program
    .command('broker')
    .description('run a RocketMQ-compatible broker from a broker.properties file')
    .option('-c, --config <file>', 'broker.properties with RocketMQ key names (see broker/conf/)')
    .argument('[overrides...]', 'key=value or --key=value settings that override the file')
    .allowUnknownOption(true)
    .addHelpText('after', '\nExample:\n  bench broker -c broker/conf/broker-single-sync-flush.properties --storePathRootDir=/data/store\n\nPrints "broker <name> listening on HOST:PORT ..." when ready; SIGTERM/SIGINT flush and exit 0.')
    .action(async (overrides: string[], options: { config?: string }) => {
      const raw = options.config ? loadPropertiesFile(options.config) : {};
      const config = brokerConfigFrom({ ...raw, ...parseOverrides(overrides) });
      for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
      const { broker, ports } = await BrokerController.start(config);
      // From here on an error nobody handled fails the store (reads go on) instead of ending the process.
      installProcessGuard(broker);
      for (const warning of broker.store.warnings) if (!config.warnings.includes(warning)) process.stderr.write(`warning: ${warning}\n`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`broker ${config.brokerName}: ${signal}, flushing and stopping\n`);
        broker.shutdown().then(() => process.exit(0), (error: unknown) => {
          process.stderr.write(`broker shutdown failed: ${String(error)}\n`);
          process.exit(1);
        });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      // The ready line comes last: a launcher may signal us the moment it reads it.
      process.stdout.write(
        `broker ${config.brokerName} listening on ${config.listenHost}:${ports.listenPort} role=${config.store.brokerRole} flush=${config.store.flushDiskType}` +
          ` ha=${ports.haPort ?? '-'} metrics=${ports.metricsPort ?? '-'}\n`,
      );
    });
}
