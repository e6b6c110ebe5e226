// mqadmin (MQAdminStartup.main0), then exit at once: the admin client's Netty event loops
// otherwise keep the JVM alive for their 2 s shutdown quiet period, on every command.
import org.apache.rocketmq.tools.command.MQAdminStartup;

public final class MqadminThenExit {
  public static void main(String[] args) {
    MQAdminStartup.main0(args, null);
    System.out.flush();
    System.err.flush();
    System.exit(0);
  }
}
