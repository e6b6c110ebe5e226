// Topic and group names that arrive on the wire (RocketMQ TopicValidator and the client's
// Validators.checkGroup). A name becomes a directory (consumequeue/<topic>/) and a key in
// config/*.json, so every request checks it before it reaches the store: "../x" must never
// be joined into a path.
import { FlushbenchError } from '../../protocol/errors.js';

/** TopicValidator.VALID_PATTERN_STR; groups use the same alphabet. */
export const VALID_NAME = /^[%|a-zA-Z0-9_-]+$/;
/** TopicValidator.TOPIC_MAX_LENGTH: the CommitLog stores the topic length in one signed byte. */
export const MAX_TOPIC_LENGTH = 127;
/** Validators.CHARACTER_MAX_LENGTH for group names. */
export const MAX_GROUP_LENGTH = 255;
/** Remarks quote at most this much of a bad name. */
const QUOTE_CHARS_MAX = 40;

function quoted(name: string): string {
  return JSON.stringify(name.length > QUOTE_CHARS_MAX ? `${name.slice(0, QUOTE_CHARS_MAX)}…` : name);
}

/** Names already found valid (every send names a topic and a group): bounded, cleared when full. */
const validNames = new Set<string>();
const VALID_NAMES_MAX = 4096;

function nameProblem(kind: string, name: string, maxLength: number): string | null {
  if (validNames.has(name) && name.length <= maxLength) return null;
  const problem = checkName(kind, name, maxLength);
  if (problem === null) {
    if (validNames.size >= VALID_NAMES_MAX) validNames.clear();
    validNames.add(name);
  }
  return problem;
}

function checkName(kind: string, name: string, maxLength: number): string | null {
  if (!name) return `the ${kind} name is empty`;
  if (name.length > maxLength) return `the ${kind} name ${quoted(name)} has ${name.length} characters; at most ${maxLength} are allowed`;
  if (!VALID_NAME.test(name)) return `the ${kind} name ${quoted(name)} contains characters outside ^[%|a-zA-Z0-9_-]+$`;
  return null;
}

/** Why a topic name is unusable, or null (TopicValidator.validateTopic). */
export function topicNameProblem(topic: string): string | null {
  return nameProblem('topic', topic, MAX_TOPIC_LENGTH);
}

/** Why a producer or consumer group name is unusable, or null (Validators.checkGroup). */
export function groupNameProblem(group: string): string | null {
  return nameProblem('group', group, MAX_GROUP_LENGTH);
}

/** A bad name on the wire; processors answer SYSTEM_ERROR with the message, as TopicValidator does. */
export class BadNameError extends FlushbenchError {
  constructor(field: string, problem: string) {
    super('BAD_NAME', `header field ${field}: ${problem}`);
  }
}

/** Throws BadNameError unless `topic` is a valid topic name; returns it. */
export function checkTopic(topic: string, field = 'topic'): string {
  const problem = topicNameProblem(topic);
  if (problem) throw new BadNameError(field, problem);
  return topic;
}

/** Throws BadNameError unless `group` is a valid group name; returns it. */
export function checkGroup(group: string, field = 'group'): string {
  const problem = groupNameProblem(group);
  if (problem) throw new BadNameError(field, problem);
  return group;
}
