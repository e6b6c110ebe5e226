// `bench topic create`: UPDATE_AND_CREATE_TOPIC on every master, like `mqadmin updateTopic`.
import type { Command } from 'commander';
import { createTopic } from '../topicAdmin.js';

export function register(program: Command): void {
  const topic = program.command('topic').description('manage topics on a running cluster');
  topic
    .command('create')
    .description('create or update a topic on every master (what `mqadmin updateTopic` sends)')
    .requiredOption('-t, --topic <name>', 'topic name')
    .option('-n, --namesrv <host:port>', 'name server address', '127.0.0.1:9876')
    .option('-q, --queues <n>', 'read and write queue count', '8')
    .option('-c, --cluster <name>', 'only masters of this cluster')
    .action(async (options: { topic: string; namesrv: string; queues: string; cluster?: string }) => {
      const queues = Number(options.queues);
      if (!Number.isInteger(queues) || queues < 1 || queues > 1024) throw new Error(`--queues ${options.queues} must be an integer 1..1024`);
      const masters = await createTopic(options.namesrv, options.topic, { queues, clusterName: options.cluster });
      process.stdout.write(`topic ${options.topic} (${queues} queues) created on ${masters.join(', ')}\n`);
    });
}
