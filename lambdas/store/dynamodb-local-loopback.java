// Starts Amazon DynamoDB Local listening on 127.0.0.1 only. DynamoDB Local has no option for the
// address (`-port` only), and Jetty's Server(port) listens on every interface; DynamoDB Local
// accepts any signature, so anyone who can reach it can write any table. This builds the server
// exactly as DynamoDB Local's own main() does (same arguments), then sets the connector's host
// before it starts. Run by lambdas/store/dynamodb-local.ts with Java's source-file launcher.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind");
    for (Connector connector : connectors) ((ServerConnector) connector).setHost("127.0.0.1");
    // Dies with the Node process that started it, however that one ends (Ctrl-C during start-up, a
    // kill -9): its stdin is a pipe from that process, and reads end-of-file once the process is gone.
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) {}
      } catch (java.io.IOException ignored) {
        // a broken pipe ends the same way
      }
      System.exit(0);
    }, "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    proxy.start();
  }
}
