// RocketMQ 4.x request/response codes, checked against apache/rocketmq rocketmq-all-4.9.7:
// common/.../protocol/{RequestCode,ResponseCode}.java, remoting/.../protocol/{RemotingSysResponseCode,
// LanguageCode,SerializeType}.java. Only codes this project sends, serves or names are listed.

export const RequestCode = {
  SEND_MESSAGE: 10,
  PULL_MESSAGE: 11,
  QUERY_MESSAGE: 12,
  QUERY_CONSUMER_OFFSET: 14,
  UPDATE_CONSUMER_OFFSET: 15,
  UPDATE_AND_CREATE_TOPIC: 17,
  GET_ALL_TOPIC_CONFIG: 21,
  GET_BROKER_CONFIG: 26,
  GET_BROKER_RUNTIME_INFO: 28,
  SEARCH_OFFSET_BY_TIMESTAMP: 29,
  GET_MAX_OFFSET: 30,
  GET_MIN_OFFSET: 31,
  GET_EARLIEST_MSG_STORETIME: 32,
  VIEW_MESSAGE_BY_ID: 33,
  HEART_BEAT: 34,
  UNREGISTER_CLIENT: 35,
  CONSUMER_SEND_MSG_BACK: 36,
  END_TRANSACTION: 37,
  GET_CONSUMER_LIST_BY_GROUP: 38,
  CHECK_TRANSACTION_STATE: 39,
  NOTIFY_CONSUMER_IDS_CHANGED: 40,
  LOCK_BATCH_MQ: 41,
  UNLOCK_BATCH_MQ: 42,
  GET_ALL_CONSUMER_OFFSET: 43,
  GET_ALL_DELAY_OFFSET: 45,
  PUT_KV_CONFIG: 100,
  GET_KV_CONFIG: 101,
  DELETE_KV_CONFIG: 102,
  REGISTER_BROKER: 103,
  UNREGISTER_BROKER: 104,
  GET_ROUTEINFO_BY_TOPIC: 105,
  GET_BROKER_CLUSTER_INFO: 106,
  GET_ALL_SUBSCRIPTIONGROUP_CONFIG: 201,
  GET_TOPIC_STATS_INFO: 202,
  GET_CONSUMER_CONNECTION_LIST: 203,
  GET_PRODUCER_CONNECTION_LIST: 204,
  GET_ALL_TOPIC_LIST_FROM_NAMESERVER: 206,
  GET_CONSUME_STATS: 208,
  GET_KVLIST_BY_NAMESPACE: 219,
  GET_TOPICS_BY_CLUSTER: 224,
  QUERY_TOPIC_CONSUME_BY_WHO: 300,
  GET_CONSUMER_RUNNING_INFO: 307,
  SEND_MESSAGE_V2: 310,
  SEND_BATCH_MESSAGE: 320,
  QUERY_DATA_VERSION: 322,
} as const;

export const ResponseCode = {
  // RemotingSysResponseCode
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  SYSTEM_BUSY: 2,
  REQUEST_CODE_NOT_SUPPORTED: 3,
  TRANSACTION_FAILED: 4,
  // ResponseCode
  FLUSH_DISK_TIMEOUT: 10,
  SLAVE_NOT_AVAILABLE: 11,
  FLUSH_SLAVE_TIMEOUT: 12,
  MESSAGE_ILLEGAL: 13,
  SERVICE_NOT_AVAILABLE: 14,
  VERSION_NOT_SUPPORTED: 15,
  NO_PERMISSION: 16,
  TOPIC_NOT_EXIST: 17,
  TOPIC_EXIST_ALREADY: 18,
  PULL_NOT_FOUND: 19,
  PULL_RETRY_IMMEDIATELY: 20,
  PULL_OFFSET_MOVED: 21,
  QUERY_NOT_FOUND: 22,
  SUBSCRIPTION_PARSE_FAILED: 23,
  SUBSCRIPTION_NOT_EXIST: 24,
  SUBSCRIPTION_NOT_LATEST: 25,
  SUBSCRIPTION_GROUP_NOT_EXIST: 26,
  CONSUMER_NOT_ONLINE: 206,
} as const;

/** LanguageCode names by their wire number (the index). */
export const LanguageCode = ['JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST'] as const;
export type LanguageName = (typeof LanguageCode)[number];

const OTHER_LANGUAGE = 7;
const languageNumbers = new Map<string, number>(LanguageCode.map((name, index) => [name, index]));

/** The name of a wire language number; numbers RocketMQ does not define read as "OTHER". */
export function languageName(code: number): LanguageName {
  return LanguageCode[code] ?? 'OTHER';
}

/** The wire number of a language name; unknown names are sent as OTHER (7). */
export function languageNumber(name: string): number {
  return languageNumbers.get(name) ?? OTHER_LANGUAGE;
}

export const SerializeType = { JSON: 0, ROCKETMQ: 1 } as const;
export type SerializeTypeValue = (typeof SerializeType)[keyof typeof SerializeType];
