// Topics of one broker (TopicConfigManager): system topics at start, auto-creation from the
// TBW102 template, %RETRY% topics for consumer groups, persisted to config/topics.json.
import fs from 'node:fs';
import { childLogger } from '../../protocol/logger.js';
import { Perm } from '../../protocol/route.js';
import { checkTopic, topicNameProblem } from './nameValidator.js';
import { writeFileDurably } from '../durableFile.js';

const log = childLogger('topics');

export const DEFAULT_TOPIC = 'TBW102';
export const BENCHMARK_TOPIC = 'BenchmarkTest';
export const SELF_TEST_TOPIC = 'SELF_TEST_TOPIC';
export const OFFSET_MOVED_EVENT = 'OFFSET_MOVED_EVENT';
export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: 'SINGLE_TAG' | 'MULTI_TAG';
  topicSysFlag: number;
  order: boolean;
}

export interface DataVersion {
  timestamp: number;
  counter: number;
}

export function topicConfig(topicName: string, readQueueNums: number, writeQueueNums: number, perm: number): TopicConfig {
  return { topicName, readQueueNums, writeQueueNums, perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
}

export { MAX_TOPIC_LENGTH, topicNameProblem } from './nameValidator.js';

export class TopicConfigManager {
  private readonly topics = new Map<string, TopicConfig>();
  readonly dataVersion: DataVersion = { timestamp: Date.now(), counter: 0 };
  /** Topics every broker creates at start; a slave keeps its own if the master's table lacks one. */
  private readonly systemTopicNames: ReadonlySet<string>;
  /** Called after a topic is created or changed, so the broker re-registers with the name server; resolves when that is done. */
  onChange: () => Promise<void> | void = () => {};

  constructor(
    private readonly filePath: string,
    private readonly settings: { brokerClusterName: string; brokerName: string; autoCreateTopicEnable: boolean; defaultTopicQueueNums: number },
  ) {
    this.addSystemTopics();
    this.systemTopicNames = new Set(this.topics.keys());
    this.load();
  }

  private addSystemTopics(): void {
    const s = this.settings;
    this.topics.set(SELF_TEST_TOPIC, topicConfig(SELF_TEST_TOPIC, 1, 1, Perm.READ | Perm.WRITE));
    if (s.autoCreateTopicEnable) {
      this.topics.set(DEFAULT_TOPIC, topicConfig(DEFAULT_TOPIC, s.defaultTopicQueueNums, s.defaultTopicQueueNums, Perm.READ | Perm.WRITE | Perm.INHERIT));
    }
    this.topics.set(BENCHMARK_TOPIC, topicConfig(BENCHMARK_TOPIC, 1024, 1024, Perm.READ | Perm.WRITE));
    this.topics.set(s.brokerClusterName, topicConfig(s.brokerClusterName, 16, 16, Perm.READ | Perm.WRITE));
    this.topics.set(s.brokerName, topicConfig(s.brokerName, 1, 1, Perm.READ | Perm.WRITE | Perm.INHERIT));
    this.topics.set(OFFSET_MOVED_EVENT, topicConfig(OFFSET_MOVED_EVENT, 1, 1, Perm.READ | Perm.WRITE));
  }

  private load(): void {
    if (!fs.existsSync(this.filePath)) return;
    try {
      const parsed = JSON.parse(fs.readFileSync(this.filePath, 'utf8')) as { topicConfigTable?: Record<string, TopicConfig>; dataVersion?: DataVersion };
      for (const [name, config] of Object.entries(parsed.topicConfigTable ?? {})) {
        // A name a client could not send today (written before names were checked) is kept in the file but not served.
        const problem = topicNameProblem(name);
        if (problem) log.error({ file: this.filePath, problem }, 'topics.json: topic skipped');
        else this.topics.set(name, { ...topicConfig(name, 4, 4, 6), ...config });
      }
      if (parsed.dataVersion) Object.assign(this.dataVersion, parsed.dataVersion);
    } catch (error) {
      log.error({ file: this.filePath, err: String(error) }, 'cannot read topics.json; starting with system topics only (file kept)');
    }
  }

  persist(): void {
    writeFileDurably(this.filePath, JSON.stringify({ topicConfigTable: Object.fromEntries(this.topics), dataVersion: this.dataVersion }, null, 2));
  }

  get(topic: string): TopicConfig | undefined {
    return this.topics.get(topic);
  }

  all(): TopicConfig[] {
    return [...this.topics.values()];
  }

  table(): Record<string, TopicConfig> {
    return Object.fromEntries(this.topics);
  }

  private bumpVersion(): void {
    this.dataVersion.timestamp = Date.now();
    this.dataVersion.counter++;
  }

  /** UPDATE_AND_CREATE_TOPIC. Resolves once the name servers have the change (onChange settled). */
  upsert(config: TopicConfig): Promise<void> {
    checkTopic(config.topicName); // every way in (admin, send, heartbeat, send-back) ends here: never store a path-like name
    this.topics.set(config.topicName, config);
    this.bumpVersion();
    this.persist();
    return Promise.resolve(this.onChange());
  }

  /**
   * SlaveSynchronize.syncTopicConfig: if the master's data version differs from ours, its table
   * replaces ours (clear + putAll) and its data version becomes ours; persisted at once. Unlike
   * RocketMQ, this broker's own system topics stay when the master's table lacks them. Does not
   * call onChange: the next periodic registration carries the table (RocketMQ does the same;
   * name servers take queue data from masters only). Returns whether the table was replaced.
   */
  replaceWithMaster(table: Readonly<Record<string, TopicConfig>>, dataVersion: DataVersion): boolean {
    if (dataVersion.timestamp === this.dataVersion.timestamp && dataVersion.counter === this.dataVersion.counter) return false;
    const keptSystemTopics = [...this.systemTopicNames].filter((name) => !Object.hasOwn(table, name)).flatMap((name) => this.topics.get(name) ?? []);
    this.topics.clear();
    for (const [name, config] of Object.entries(table)) {
      // The master's table comes over the wire: a bad name must not become a directory here.
      const problem = topicNameProblem(name);
      if (problem) log.error({ problem }, 'master topic config: topic skipped');
      else this.topics.set(name, { ...config, topicName: name });
    }
    for (const config of keptSystemTopics) this.topics.set(config.topicName, config);
    this.dataVersion.timestamp = dataVersion.timestamp;
    this.dataVersion.counter = dataVersion.counter;
    this.persist();
    return true;
  }

  /**
   * createTopicInSendMessageMethod: a send to an unknown topic creates it from the template
   * topic when the template carries the INHERIT permission (autoCreateTopicEnable).
   */
  createFromTemplate(topic: string, templateTopic: string, clientDefaultQueueNums: number): TopicConfig | null {
    const existing = this.topics.get(topic);
    if (existing) return existing;
    const template = this.topics.get(templateTopic);
    if (!template || !(template.perm & Perm.INHERIT)) return null;
    const queueNums = Math.max(1, Math.min(clientDefaultQueueNums, template.writeQueueNums));
    const created = topicConfig(topic, queueNums, queueNums, template.perm & ~Perm.INHERIT);
    log.info({ topic, queueNums }, 'topic auto-created from template');
    this.upsertDetached(created);
    return created;
  }

  /** upsert() without waiting for the name servers; a failed registration is logged, never unhandled. */
  private upsertDetached(config: TopicConfig): void {
    this.upsert(config).catch((error: unknown) => log.error({ topic: config.topicName, err: String(error) }, 'cannot register the new topic with the name servers; the next periodic registration carries it'));
  }

  /** createTopicInSendMessageBackMethod: %RETRY%<group> with 1 queue, perm RW. */
  ensureRetryTopic(topic: string, queueNums = 1): TopicConfig {
    const existing = this.topics.get(topic);
    if (existing) return existing;
    const created = topicConfig(topic, queueNums, queueNums, Perm.READ | Perm.WRITE);
    this.upsertDetached(created);
    return created;
  }
}
