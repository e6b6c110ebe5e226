// `bench namesrv`: a RocketMQ-compatible name server (routes for producers, consumers and brokers).
import type { Command } from 'commander';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { isLoopbackHost } from '../../broker/server/listenHost.js';
import { loadPropertiesFile } from './propertiesFile.js';

interface NamesrvOptions {
  port: string;
  host?: string;
  listenHost: string;
  config?: string;
}

function parsePort(text: string, where: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlushbenchError('BAD_PORT', `${where}: "${text}" is not a port number (0-65535, 0 = any free port)`);
  return port;
}

export function register(program: Command): void {
  program
    .command('namesrv')
    .description('run a RocketMQ-compatible name server; prints "namesrv listening on HOST:PORT" when ready, stops cleanly on SIGINT/SIGTERM')
    .option('--port <port>', 'listen port; 0 picks a free one', '9876')
    .option('--listen-host <host>', 'address to bind (listenHost); other hosts can reach the name server only if this is not loopback', '127.0.0.1')
    .option('--host <host>', 'same as --listen-host (older spelling)')
    .option('-c, --config <file>', 'namesrv.properties: listenPort, listenHost, orderMessageEnable (other RocketMQ keys are ignored); --port/--listen-host given on the command line win')
    .addHelpText('after', '\nExamples:\n  bench namesrv\n  bench namesrv --port 0\n  bench namesrv -c broker/conf/namesrv.properties')
    .action(async (options: NamesrvOptions, command: Command) => {
      const file = options.config ? loadPropertiesFile(options.config) : {};
      const fromCli = (name: string) => command.getOptionValueSource(name) === 'cli';
      const port = fromCli('port') || file.listenPort === undefined ? parsePort(options.port, '--port') : parsePort(file.listenPort, `listenPort in ${options.config}`);
      const cliHost = options.host ?? (fromCli('listenHost') ? options.listenHost : undefined);
      const host = cliHost ?? file.listenHost ?? options.listenHost;
      if (!isLoopbackHost(host)) process.stderr.write(`warning: listenHost=${host} is not a loopback address: the name server is reachable from other hosts and has no ACL\n`);
      const nameServer = new NameServer({ orderMessageEnable: file.orderMessageEnable === 'true' });
      // Handlers first: a launcher may signal the moment it reads the ready line.
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        nameServer.close().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`bench namesrv: error while closing: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let bound: number;
      try {
        bound = await nameServer.listen(port, host);
      } catch (error) {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await nameServer.close();
        throw error;
      }
      if (!stopping) process.stdout.write(`namesrv listening on ${host}:${bound}\n`);
    });
}
