// The official RocketMQ 4.9.7 Java client against a flushbench cluster: sync sends with
// DefaultMQProducer, then a DefaultMQPushConsumer (fresh group, CONSUME_FROM_FIRST_OFFSET) that
// must see every sent key exactly once. Prints one parseable line per event (key=value pairs)
// for test/javaClient/javaClient.test.ts. A watchdog exits with code 3 so a run never hangs.
//
// Usage: FlushbenchClientCheck --namesrv H:P --topic T [--count N] [--mode both|send|consume]
//   [--group G] [--run-id R] [--interval-ms N] [--expect-file F] [--timeout-s N]
//   [--consume-timeout-s N] [--settle-ms N] [--send-timeout-ms N] [--allow-duplicates true]
// Exit codes: 0 ok, 1 a check failed, 2 bad arguments, 3 watchdog.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public final class FlushbenchClientCheck {
  private static final Map<String, String> OPTIONS = new HashMap<>();

  private static String opt(String name, String fallback) {
    String value = OPTIONS.get(name);
    return value != null ? value : fallback;
  }

  private static int intOpt(String name, int fallback) {
    return Integer.parseInt(opt(name, String.valueOf(fallback)));
  }

  /** One line per event; stdout is shared by client threads, so print atomically. */
  private static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static String oneLine(Throwable error) {
    String text = error.getClass().getSimpleName() + ": " + error.getMessage();
    return text.replaceAll("[\\r\\n]+", " ").replace('=', ':');
  }

  public static void main(String[] args) throws Exception {
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        System.err.println("bad argument " + args[i]);
        System.exit(2);
      }
      OPTIONS.put(args[i].substring(2), args[i + 1]);
    }
    String namesrv = opt("namesrv", null);
    String topic = opt("topic", null);
    if (namesrv == null || topic == null) {
      System.err.println("--namesrv and --topic are required");
      System.exit(2);
    }
    int timeoutS = intOpt("timeout-s", 60);
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(timeoutS * 1000L);
      } catch (InterruptedException e) {
        return;
      }
      emit("WATCHDOG timeoutS=" + timeoutS);
      Runtime.getRuntime().halt(3);
    }, "watchdog");
    watchdog.setDaemon(true);
    watchdog.start();

    String mode = opt("mode", "both");
    String runId = opt("run-id", Long.toString(System.currentTimeMillis(), 36));
    boolean ok = true;
    List<String> expected = new ArrayList<>();
    if (mode.equals("both") || mode.equals("send")) {
      ok = send(namesrv, topic, runId, expected);
    }
    if (mode.equals("consume")) {
      expected.addAll(Files.readAllLines(Paths.get(opt("expect-file", "")), StandardCharsets.UTF_8));
      expected.removeIf(String::isEmpty);
    }
    if (mode.equals("both") || mode.equals("consume")) {
      ok = consume(namesrv, topic, expected) && ok;
    }
    emit("DONE ok=" + ok);
    System.exit(ok ? 0 : 1);
  }

  /** Sync sends; each key that was acked SEND_OK goes into `acked`. True when every send was SEND_OK. */
  private static boolean send(String namesrv, String topic, String runId, List<String> acked) throws Exception {
    int count = intOpt("count", 200);
    int intervalMs = intOpt("interval-ms", 0);
    DefaultMQProducer producer = new DefaultMQProducer(opt("producer-group", "flushbench_java_producer"));
    producer.setNamesrvAddr(namesrv);
    producer.setSendMsgTimeout(intOpt("send-timeout-ms", 3000));
    producer.setInstanceName("p-" + runId);
    producer.start();
    Map<String, Integer> statuses = new TreeMap<>();
    int errors = 0;
    try {
      for (int i = 0; i < count; i++) {
        String key = runId + "-" + i;
        Message message = new Message(topic, "TagA", key, ("flushbench java client " + key).getBytes(StandardCharsets.UTF_8));
        long started = System.nanoTime();
        try {
          SendResult result = producer.send(message);
          String status = result.getSendStatus().name();
          statuses.merge(status, 1, Integer::sum);
          if (status.equals("SEND_OK")) acked.add(key);
          emit("SEND i=" + i + " key=" + key + " status=" + status + " msgId=" + result.getMsgId() + " offsetMsgId=" + result.getOffsetMsgId()
              + " broker=" + result.getMessageQueue().getBrokerName() + " queue=" + result.getMessageQueue().getQueueId()
              + " offset=" + result.getQueueOffset() + " us=" + (System.nanoTime() - started) / 1000);
        } catch (Exception error) {
          errors++;
          emit("SEND_ERROR i=" + i + " key=" + key + " us=" + (System.nanoTime() - started) / 1000 + " error=" + oneLine(error));
        }
        if (intervalMs > 0) Thread.sleep(intervalMs);
      }
    } finally {
      producer.shutdown();
    }
    StringBuilder text = new StringBuilder();
    for (Map.Entry<String, Integer> entry : statuses.entrySet()) {
      if (text.length() > 0) text.append(',');
      text.append(entry.getKey()).append(':').append(entry.getValue());
    }
    emit("SEND_SUMMARY sent=" + count + " sendOk=" + acked.size() + " errors=" + errors + " statuses=" + (text.length() == 0 ? "none" : text));
    return acked.size() == count;
  }

  /** Pushes until every expected key arrived (then a short settle to catch duplicates) or the deadline. */
  private static boolean consume(String namesrv, String topic, List<String> expected) throws Exception {
    Set<String> wanted = new LinkedHashSet<>(expected);
    Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    AtomicInteger consumed = new AtomicInteger();
    AtomicInteger wantedSeen = new AtomicInteger();
    String group = opt("group", "flushbench_java_consumer_" + System.nanoTime());
    DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
    consumer.setNamesrvAddr(namesrv);
    consumer.setInstanceName("c-" + group);
    consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
    consumer.subscribe(topic, "*");
    consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
      for (MessageExt message : messages) {
        String key = message.getKeys();
        int times = seen.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        consumed.incrementAndGet();
        if (times == 1 && wanted.contains(key)) wantedSeen.incrementAndGet();
        emit("CONSUMED key=" + key + " msgId=" + message.getMsgId() + " queue=" + message.getQueueId() + " offset=" + message.getQueueOffset()
            + " times=" + times + " reconsume=" + message.getReconsumeTimes());
      }
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    long started = System.currentTimeMillis();
    consumer.start();
    long deadline = started + intOpt("consume-timeout-s", 30) * 1000L;
    try {
      while (wantedSeen.get() < wanted.size() && System.currentTimeMillis() < deadline) Thread.sleep(20);
      Thread.sleep(intOpt("settle-ms", 1000));
    } finally {
      consumer.shutdown();
    }
    int missing = 0;
    for (String key : wanted) if (!seen.containsKey(key)) missing++;
    int duplicates = 0;
    for (AtomicInteger times : seen.values()) if (times.get() > 1) duplicates++;
    emit("CONSUME_SUMMARY group=" + group + " expected=" + wanted.size() + " consumed=" + consumed.get() + " distinct=" + seen.size()
        + " missing=" + missing + " duplicates=" + duplicates + " ms=" + (System.currentTimeMillis() - started));
    // A producer retry after a lost response may store a key twice (at-least-once); --allow-duplicates true for fault runs.
    return missing == 0 && (duplicates == 0 || opt("allow-duplicates", "false").equals("true"));
  }
}
