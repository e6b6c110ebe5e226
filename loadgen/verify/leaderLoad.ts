// The verify load for a DLedger group: `producers` send loops that follow the leader. Each send
// goes to whatever address `leader()` names at that moment; a failed send (connection refused by
// a dead leader, SERVICE_NOT_AVAILABLE from a follower or a candidate, a quorum timeout) is
// recorded unacked, asks for a fresh leader lookup and is never retried with the same key, so a
// duplicate in the read-back is the group's, not ours.
import { ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { type AckRecord, verifySend } from './producer.js';

export interface LeaderAckRecord extends AckRecord {
  /** The member the send went to. */
  address: string;
}

export interface LeaderLoadOptions {
  runId: string;
  topic: string;
  queues: number;
  producers: number;
  sizeBytes: number;
  sendTimeoutMs: number;
  /** The member taking writes now, or null while unknown (producers wait). */
  leader: () => string | null;
  /** Called after a failed send: the leader may have changed. */
  onFailure: () => void;
  /** Where records go (shared across cycles so one read-back judges them all). */
  records: LeaderAckRecord[];
}

export interface LeaderLoad {
  /** Stops the loops and resolves when all have returned (sends in flight get their answer or fail). */
  stop(): Promise<void>;
}

const PRODUCERS_PER_CONNECTION = 16;
const RETRY_PAUSE_MS = 20;
const WAIT_FOR_LEADER_MS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function startLeaderLoad(options: LeaderLoadOptions): LeaderLoad {
  let running = true;
  // One connection per PRODUCERS_PER_CONNECTION producers per member (the Java client shares one per broker).
  const clients = new Map<string, RemotingClient[]>();
  const clientFor = (address: string, producerId: number): RemotingClient => {
    let list = clients.get(address);
    if (!list) {
      list = [];
      clients.set(address, list);
    }
    const slot = Math.floor(producerId / PRODUCERS_PER_CONNECTION);
    list[slot] ??= new RemotingClient(address, { connectTimeoutMs: 2000 });
    return list[slot];
  };
  const loop = async (producerId: number): Promise<void> => {
    for (let sequence = 0; running; ) {
      const address = options.leader();
      if (!address) {
        await sleep(WAIT_FOR_LEADER_MS);
        continue;
      }
      const { key, queueId, sentAtMs, request } = verifySend(options, producerId, sequence);
      sequence++;
      const record: LeaderAckRecord = { key, producerId, sequence: sequence - 1, status: -1, queueId, queueOffset: -1, msgId: '', sentAtMs, answeredAtMs: 0, address };
      try {
        const response = await clientFor(address, producerId).invoke(request, options.sendTimeoutMs);
        record.status = response.code;
        record.queueId = Number(response.extFields?.queueId ?? queueId);
        record.queueOffset = Number(response.extFields?.queueOffset ?? -1);
        record.msgId = response.extFields?.msgId ?? '';
      } catch {
        // no answer: connection refused or closed (the leader died) or the deadline passed
      }
      record.answeredAtMs = Date.now();
      options.records.push(record);
      if (record.status !== ResponseCode.SUCCESS) {
        options.onFailure();
        await sleep(RETRY_PAUSE_MS);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.producers }, (_, id) => loop(id))).finally(() => {
    for (const list of clients.values()) for (const client of list) client?.close();
  });
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}
