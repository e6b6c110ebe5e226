// RocketMQ's PutMessageStatus, plus IO_ERROR for a failed write() that mmap-based RocketMQ
// cannot see (it would fault instead). The broker maps these to response codes.

export type PutStatus =
  | 'PUT_OK'
  | 'FLUSH_DISK_TIMEOUT'
  | 'FLUSH_SLAVE_TIMEOUT'
  | 'SLAVE_NOT_AVAILABLE'
  | 'SERVICE_NOT_AVAILABLE'
  | 'CREATE_MAPEDFILE_FAILED'
  | 'MESSAGE_ILLEGAL'
  | 'PROPERTIES_SIZE_EXCEEDED'
  | 'OS_PAGECACHE_BUSY'
  | 'IO_ERROR'
  | 'UNKNOWN_ERROR';

/** Statuses after which the message is stored (the producer still gets msgId and offsets). */
export function isStored(status: PutStatus): boolean {
  return status === 'PUT_OK' || status === 'FLUSH_DISK_TIMEOUT' || status === 'FLUSH_SLAVE_TIMEOUT' || status === 'SLAVE_NOT_AVAILABLE';
}

export const PUT_OK_SETTLED: Promise<PutStatus> = Promise.resolve('PUT_OK');
