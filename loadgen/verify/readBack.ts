// Reads every queue of the verify topic back from one broker, from offset 0 to its max offset,
// with plain PULL_MESSAGE requests: each answer is the CommitLog record a ConsumeQueue entry
// points at, so checking it (magic, size, stored CRC, our body CRC, queue id and offset) checks
// the ConsumeQueue → CommitLog link too. Bounded: every request has a deadline, every loop a cap.
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { decodePulledRecords, propertyOf, pullMessageRequest } from '../../protocol/requests/pullMessage.js';
import { decodeVerifyBody } from './messages.js';

export interface StoredEntry {
  key: string | null;
  queueId: number;
  queueOffset: number;
  /** null when intact; otherwise what failed (broker CRC, our body CRC, wrong queue/offset). */
  problem: string | null;
}

export interface NodeRead {
  address: string;
  entries: StoredEntry[];
  /** Per queue: the max offset the broker reported (entries expected 0 … max-1). */
  maxOffsets: number[];
  /** Per queue: the first offset the broker still has (0 unless files were deleted). */
  minOffsets: number[];
  /** Queue offsets in [min, max) that no pull returned (a hole in the ConsumeQueue or a skipped record). */
  missingOffsets: number;
}

const PULL_BATCH = 32;
/** PullSysFlag FLAG_SUBSCRIPTION: the subscription rides in the request; Apache RocketMQ answers SUBSCRIPTION_NOT_EXIST to a group that never sent a heartbeat otherwise. */
const PULL_FLAG_SUBSCRIPTION = 0x4;
const REQUEST_TIMEOUT_MS = 5000;

async function queueOffset(client: RemotingClient, code: number, topic: string, queueId: number): Promise<number> {
  const response = await client.invoke(createRequest(code, { topic, queueId: String(queueId) }), REQUEST_TIMEOUT_MS);
  if (response.code !== ResponseCode.SUCCESS) throw new FlushbenchError('VERIFY_READ_FAILED', `${client.address}: offset query for ${topic}/${queueId} answered ${response.code} ${response.remark ?? ''}`);
  return Number(response.extFields?.offset ?? 0);
}

/** Pulls queues 0 … queues-1 of `topic` from `address` (a master, or a slave with slaveReadEnable). */
export async function readNode(address: string, topic: string, queues: number): Promise<NodeRead> {
  const client = new RemotingClient(address, { connectTimeoutMs: 3000 });
  const read: NodeRead = { address, entries: [], maxOffsets: [], minOffsets: [], missingOffsets: 0 };
  try {
    for (let queueId = 0; queueId < queues; queueId++) {
      const max = await queueOffset(client, RequestCode.GET_MAX_OFFSET, topic, queueId);
      const min = await queueOffset(client, RequestCode.GET_MIN_OFFSET, topic, queueId);
      read.maxOffsets.push(max);
      read.minOffsets.push(min);
      let offset = min;
      let rounds = 0;
      while (offset < max) {
        if (++rounds > max - min + 10) throw new FlushbenchError('VERIFY_READ_FAILED', `${address}: queue ${queueId} made no progress at offset ${offset}`);
        const response = await client.invoke(pullMessageRequest({ consumerGroup: 'flushbench_verify_reader', topic, queueId, queueOffset: offset, maxMsgNums: PULL_BATCH, sysFlag: PULL_FLAG_SUBSCRIPTION, subscription: '*' }), REQUEST_TIMEOUT_MS);
        const next = Number(response.extFields?.nextBeginOffset ?? offset);
        if (response.code !== ResponseCode.SUCCESS) {
          // No record where the ConsumeQueue said there is one: count the offsets skipped.
          const resume = next > offset ? Math.min(next, max) : max;
          read.missingOffsets += resume - offset;
          offset = resume;
          continue;
        }
        const records = decodePulledRecords(response.body);
        let expected = offset;
        for (const record of records) {
          const key = propertyOf(record.properties, 'UNIQ_KEY') ?? null;
          let problem = record.problem;
          if (!problem && (record.queueId !== queueId || record.queueOffset < expected)) {
            problem = `ConsumeQueue ${queueId}/${expected} points at a record of ${record.queueId}/${record.queueOffset}`;
          }
          if (!problem) {
            const body = decodeVerifyBody(record.body);
            if (!body.ok) problem = body.problem;
          }
          if (!problem && record.queueOffset > expected) read.missingOffsets += record.queueOffset - expected;
          read.entries.push({ key, queueId, queueOffset: problem ? expected : record.queueOffset, problem });
          expected = problem ? expected + 1 : record.queueOffset + 1;
        }
        const advanced = Math.max(expected, next);
        if (advanced <= offset) throw new FlushbenchError('VERIFY_READ_FAILED', `${address}: pull of ${queueId}/${offset} returned nothing new`);
        if (next > expected) read.missingOffsets += Math.min(next, max) - expected;
        offset = advanced;
      }
    }
    return read;
  } finally {
    client.close();
  }
}
