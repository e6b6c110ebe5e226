// Sends appended to the store and waiting for its verdict (group commit, replication), grouped
// by the promise they wait on. Under SYNC_FLUSH a turn's sends share one write batch, so one
// promise reaction answers all of them when its fdatasync lands, instead of a reaction (and a
// derived promise for the server to chain on) per send. The answers go straight to the
// connection, in the order the sends arrived.
import { childLogger } from '../../protocol/logger.js';
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, isOneway, type RemotingCommand } from '../../protocol/remotingCommand.js';
import type { AppendResult } from '../store/commitLog.js';
import type { PutStatus } from '../store/putStatus.js';
import type { ClientChannel } from './clientManager.js';

const log = childLogger('send');

/** A client connection the broker can answer on (RemotingConnection). */
export interface AnsweringChannel extends ClientChannel {
  send(command: RemotingCommand): void;
}

export interface PendingSend {
  request: RemotingCommand;
  channel: AnsweringChannel;
  appended: readonly AppendResult[];
  queueId: number;
}

export class PendingSends {
  // Sends of one turn share their write batch's promise and arrive one after another, so a
  // group is "the sends since the promise last changed": no Map (hashing a promise per send
  // cost more than it saved when each send has its own promise, as under SYNC_MASTER).
  private lastSettled: Promise<PutStatus> | null = null;
  private lastGroup: PendingSend[] = [];
  private count = 0;

  /** `answer` turns a settled send into its response (it records the status in the metrics). */
  constructor(private readonly answer: (send: PendingSend, status: PutStatus) => RemotingCommand) {}

  /** Sends appended and not yet answered (shutdown waits for them). */
  get size(): number {
    return this.count;
  }

  /** Answers `send` on its channel once `settled` resolves. */
  add(settled: Promise<PutStatus>, send: PendingSend): void {
    this.count++;
    if (settled === this.lastSettled) {
      this.lastGroup.push(send);
      return;
    }
    const group = [send];
    this.lastSettled = settled;
    this.lastGroup = group;
    settled.then((status) => this.settle(group, status, null), (error: unknown) => this.settle(group, null, error));
  }

  private settle(group: PendingSend[], status: PutStatus | null, error: unknown): void {
    // A send added from now on (a later turn, same resolved promise) starts a new group.
    if (group === this.lastGroup) this.lastSettled = null;
    this.count -= group.length;
    for (const send of group) {
      let response: RemotingCommand;
      try {
        if (status === null) throw error;
        response = this.answer(send, status);
      } catch (failure) {
        // As the server answers a processor that threw.
        response = createResponse(send.request, ResponseCode.SYSTEM_ERROR, failure instanceof Error ? failure.message : String(failure));
      }
      try {
        if (!isOneway(send.request)) send.channel.send(response);
      } catch (sendError) {
        log.error({ code: send.request.code, channel: send.channel.id, err: String(sendError) }, 'cannot send the answer');
      }
    }
  }
}
