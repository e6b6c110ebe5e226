// The verify load: `producers` send loops against one master, each recording every answer it
// gets (status, queue, offset, msgId, time). A loop stops at the first connection failure (the
// broker died) or when told; no send is retried, so a duplicate in the read-back is the broker's.
import { ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { sendMessageV2Request } from '../../protocol/requests/sendMessage.js';
import { encodeVerifyBody, messageKey, messageProperties } from './messages.js';

export interface AckRecord {
  key: string;
  producerId: number;
  sequence: number;
  /** Response code (0 = SUCCESS, 10 FLUSH_DISK_TIMEOUT, 11 SLAVE_NOT_AVAILABLE, 12 FLUSH_SLAVE_TIMEOUT, …); -1 = no answer. */
  status: number;
  queueId: number;
  queueOffset: number;
  msgId: string;
  sentAtMs: number;
  answeredAtMs: number;
}

export interface LoadOptions {
  runId: string;
  address: string;
  topic: string;
  queues: number;
  producers: number;
  sizeBytes: number;
  /** Per-send answer deadline; a send with no answer by then counts as hung. */
  sendTimeoutMs: number;
  /** Producers per TCP connection (the Java client shares one connection per broker). */
  producersPerConnection?: number;
}

/** One verify send: its key (the message's identity in the read-back), queue and request. */
export function verifySend(options: Pick<LoadOptions, 'runId' | 'topic' | 'queues' | 'sizeBytes'>, producerId: number, sequence: number) {
  const key = messageKey(options.runId, { producerId, sequence });
  const queueId = (producerId + sequence) % options.queues;
  const sentAtMs = Date.now();
  const request = sendMessageV2Request({
    producerGroup: 'flushbench_verify', topic: options.topic, queueId, defaultTopicQueueNums: options.queues, properties: messageProperties(key),
  }, encodeVerifyBody({ producerId, sequence }, sentAtMs, options.sizeBytes));
  return { key, queueId, sentAtMs, request };
}

export interface RunningLoad {
  /** Every answered or failed send so far. */
  readonly records: AckRecord[];
  /** Sends that got no answer before sendTimeoutMs while the connection stayed up. */
  readonly hung: number;
  /** Stops the loops and resolves when all have returned. */
  stop(): Promise<void>;
  /** Resolves when all loops ended by themselves (broker gone) or after stop(). */
  readonly done: Promise<void>;
}

export function startLoad(options: LoadOptions): RunningLoad {
  const records: AckRecord[] = [];
  let running = true;
  let hung = 0;
  const perConnection = Math.max(1, options.producersPerConnection ?? 16);
  const clients: RemotingClient[] = [];
  for (let i = 0; i < Math.ceil(options.producers / perConnection); i++) clients.push(new RemotingClient(options.address, { connectTimeoutMs: 2000 }));
  const loop = async (producerId: number): Promise<void> => {
    const client = clients[Math.floor(producerId / perConnection)];
    for (let sequence = 0; running; sequence++) {
      const { key, queueId, sentAtMs, request } = verifySend(options, producerId, sequence);
      const record: AckRecord = { key, producerId, sequence, status: -1, queueId, queueOffset: -1, msgId: '', sentAtMs, answeredAtMs: 0 };
      try {
        const response = await client.invoke(request, options.sendTimeoutMs);
        record.status = response.code;
        record.answeredAtMs = Date.now();
        record.queueId = Number(response.extFields?.queueId ?? queueId);
        record.queueOffset = Number(response.extFields?.queueOffset ?? -1);
        record.msgId = response.extFields?.msgId ?? '';
        records.push(record);
      } catch (error) {
        records.push(record);
        if (error instanceof FlushbenchError && error.code === 'TIMEOUT') {
          hung += 1;
          continue;
        }
        return; // connection gone: the broker died (or was stopped)
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.producers }, (_, id) => loop(id))).then(() => {
    for (const client of clients) client.close();
  });
  return {
    records,
    get hung() {
      return hung;
    },
    done,
    async stop() {
      running = false;
      await done;
    },
  };
}

export function isAcked(record: AckRecord): boolean {
  return record.status === ResponseCode.SUCCESS;
}

/** Response code → count, for the report (e.g. {"0": 9123, "12": 40}). */
export function statusCounts(records: readonly AckRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[String(record.status)] = (counts[String(record.status)] ?? 0) + 1;
  return counts;
}

