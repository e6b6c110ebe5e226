// Reads a broker's Prometheus metrics endpoint into name → value (labels summed), so the run
// can record flushBehindBytes, fsyncs and slave lag each second.
import http from 'node:http';

export type MetricValues = Map<string, number>;

export function parsePrometheus(text: string): MetricValues {
  const values: MetricValues = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const labels = match[2] ?? '';
    // Histogram buckets keep their "le" so quantiles can be estimated; other labels are summed.
    const le = /le="([^"]+)"/.exec(labels);
    const key = le ? `${match[1]}{le=${le[1]}}` : match[1];
    values.set(key, (values.get(key) ?? 0) + value);
  }
  return values;
}

export function scrapeMetrics(url: string, timeoutMs = 800): Promise<MetricValues> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(parsePrometheus(body)));
    });
    request.on('timeout', () => request.destroy(new Error(`metrics ${url} timed out`)));
    request.on('error', reject);
  });
}

/** Estimated quantile (ms) of the increase of a Prometheus histogram between two scrapes. */
export function histogramQuantileMs(name: string, before: MetricValues, after: MetricValues, quantile: number): number | null {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const [key, value] of after) {
    const match = new RegExp(`^${name}_bucket\\{le=([^}]+)\\}$`).exec(key);
    if (!match) continue;
    const le = match[1] === '+Inf' ? Infinity : Number(match[1]);
    buckets.push({ le, count: value - (before.get(key) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const target = total * quantile;
  for (const bucket of buckets) if (bucket.count >= target) return Number.isFinite(bucket.le) ? bucket.le * 1000 : null;
  return null;
}
