// What the send path reads from a message's properties, in one pass per message: the stored
// form (WAIT removed, CLUSTER set, as SendMessageProcessor does in 4.9.x), WAIT, the DELAY level
// and the TAGS hash (MessageExtBrokerInner.tagsCode). Each is the first pair with that name, as
// findProperty and RocketMQ's string → map parse read it.
import { PROPERTY_NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR } from './messageCodec.js';

export interface SendProperties {
  /** The properties as stored: the first WAIT and CLUSTER pairs removed, CLUSTER=<cluster> appended. */
  stored: string;
  /** waitStoreMsgOK: false only for WAIT=false. */
  wait: boolean;
  /** Message.getDelayTimeLevel: DELAY as an integer, 0 when absent or not a number. */
  delayLevel: number;
  /** Java's hashCode of TAGS, 0 when absent or empty (the ConsumeQueue tag code). */
  tagsCode: number;
}

const CLUSTER_PAIR_PREFIX = `CLUSTER${PROPERTY_NAME_VALUE_SEPARATOR}`;

/** Message.getDelayTimeLevel on a DELAY value (Number(): "", " 3" and "3.0" parse as Java's would not, kept as before). */
export function delayLevelFromValue(value: string | undefined): number {
  if (value === undefined) return 0;
  const level = Number(value);
  return Number.isInteger(level) ? level : 0;
}

/** Java's String.hashCode of text[start, end). */
function javaHashCodeOf(text: string, start: number, end: number): number {
  let hash = 0;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** text without [from, to); from −1 cuts nothing. */
function cut(text: string, from: number, to: number): string {
  return from < 0 ? text : text.slice(0, from) + text.slice(to);
}

function named(properties: string, start: number, name: string): boolean {
  return properties.startsWith(name, start);
}

/** Reads `properties` of a send (see SendProperties) and builds its stored form for `cluster`. */
export function sendProperties(properties: string, cluster: string): SendProperties {
  let wait = true;
  let delayLevel = 0;
  let tagsCode = 0;
  let seen = 0; // bits: 1 WAIT, 2 CLUSTER, 4 DELAY, 8 TAGS (only the first pair of a name counts)
  // The removed pairs, each with the separator after it when there is one.
  let waitFrom = -1;
  let waitTo = -1;
  let clusterFrom = -1;
  let clusterTo = -1;
  const length = properties.length;
  for (let start = 0; start < length;) {
    let end = properties.indexOf(PROPERTY_SEPARATOR, start);
    if (end < 0) end = length;
    const nameEnd = properties.indexOf(PROPERTY_NAME_VALUE_SEPARATOR, start);
    if (nameEnd >= 0 && nameEnd < end) {
      const nameLength = nameEnd - start;
      if (nameLength === 4 && !(seen & 1) && named(properties, start, 'WAIT')) {
        seen |= 1;
        wait = !(end - nameEnd - 1 === 5 && named(properties, nameEnd + 1, 'false'));
        waitFrom = start;
        waitTo = Math.min(end + 1, length);
      } else if (nameLength === 7 && !(seen & 2) && named(properties, start, 'CLUSTER')) {
        seen |= 2;
        clusterFrom = start;
        clusterTo = Math.min(end + 1, length);
      } else if (nameLength === 5 && !(seen & 4) && named(properties, start, 'DELAY')) {
        seen |= 4;
        delayLevel = delayLevelFromValue(properties.slice(nameEnd + 1, end));
      } else if (nameLength === 4 && !(seen & 8) && named(properties, start, 'TAGS')) {
        seen |= 8;
        tagsCode = javaHashCodeOf(properties, nameEnd + 1, end);
      }
    }
    start = end + 1;
  }
  // Cut the later pair first so the earlier one's positions still hold.
  const kept = waitFrom > clusterFrom ? cut(cut(properties, waitFrom, waitTo), clusterFrom, clusterTo) : cut(cut(properties, clusterFrom, clusterTo), waitFrom, waitTo);
  const separator = kept.length > 0 && kept.charCodeAt(kept.length - 1) !== 2 ? PROPERTY_SEPARATOR : '';
  return { stored: kept + separator + CLUSTER_PAIR_PREFIX + cluster, wait, delayLevel, tagsCode };
}
