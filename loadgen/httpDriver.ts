// `--driver http`: autocannon loads the broker's HTTP produce endpoint (POST /produce/<topic>)
// with the same connection count and body size, for comparison with the remoting driver.
// Every response is recorded in the same AckRecorder (200 = SEND_OK, 503 = the store status).
import autocannon from 'autocannon';
import type { AckRecorder } from './ackRecorder.js';
import { benchmarkBody } from './producers.js';

export interface HttpLoad {
  url: string;
  connections: number;
  sizeBytes: number;
  seconds: number;
}

/** Runs autocannon for `seconds`; resolves when it finishes or `stop()` is called. */
export function runHttpLoad(load: HttpLoad, recorder: AckRecorder): { done: Promise<void>; stop: () => void } {
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const instance = autocannon({
    url: load.url,
    method: 'POST',
    connections: load.connections,
    pipelining: 1,
    duration: load.seconds,
    body: benchmarkBody(load.sizeBytes),
    headers: { 'content-type': 'application/octet-stream' },
  }, () => finished());
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    recorder.record(statusCode === 200 ? 'SEND_OK' : statusCode === 503 ? 'SYSTEM_ERROR' : 'OTHER_RESPONSE', responseTimeMs * 1000);
  });
  instance.on('reqError', () => recorder.record('CONNECTION_ERROR', 0));
  return { done, stop: () => instance.stop() };
}
