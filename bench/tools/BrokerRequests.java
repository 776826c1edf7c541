import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * The requests a Kafka broker running on this machine has answered since it started, by request
 * type (every version summed), one "<type> <count> <total> <queue> <local> <remote>" line each:
 * Kafka's own meters, kafka.network:type=RequestMetrics,name=RequestsPerSec, and the sums of its
 * request time histograms (TotalTimeMs; RequestQueueTimeMs, waiting for a request handler thread;
 * LocalTimeMs, handled by it; RemoteTimeMs, waiting in purgatory: a fetch's long poll, a produce's
 * acks), in ms since the start, each its Mean times its Count (a Yammer histogram's mean is over
 * every value, not its sample). The broker records each time rounded to a whole ms, so a mean over
 * many requests is within 0.5 ms of the true one. Read over JMX from the broker's pid through the
 * JDK's attach API (no JMX port needed). Usage: java BrokerRequests <broker pid>.
 * A request is counted once: the broker also marks each Fetch under FetchConsumer or FetchFollower
 * (and ListConfigResources v0 under ListClientMetricsResources), which are left out here; a
 * verify-only AddPartitionsToTxn (from a partition leader) is marked as
 * AddPartitionsToTxnVerification alone, and stays (kafka.network.RequestChannel).
 */
public class BrokerRequests {
  private static final Set<String> ALSO_COUNTED_ELSEWHERE = Set.of("FetchConsumer", "FetchFollower", "ListClientMetricsResources");
  private static final String[] TIMES = {"TotalTimeMs", "RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs"};

  /** The sum of `time` over every request of `request`'s type so far, in ms (0 when the broker has no such histogram). */
  private static double timeSum(MBeanServerConnection server, String time, String request) throws Exception {
    double sum = 0;
    for (ObjectName histogram : server.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=" + time + ",request=" + request + ",*"), null)) {
      sum += ((Number) server.getAttribute(histogram, "Mean")).doubleValue() * ((Number) server.getAttribute(histogram, "Count")).longValue();
    }
    return sum;
  }

  public static void main(String[] args) throws Exception {
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      Map<String, Long> counts = new TreeMap<>();
      for (ObjectName meter : server.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
        String request = meter.getKeyProperty("request");
        if (ALSO_COUNTED_ELSEWHERE.contains(request)) continue;
        counts.merge(request, ((Number) server.getAttribute(meter, "Count")).longValue(), Long::sum);
      }
      for (Map.Entry<String, Long> entry : counts.entrySet()) {
        StringBuilder line = new StringBuilder(entry.getKey()).append(' ').append(entry.getValue());
        for (String time : TIMES) line.append(' ').append(String.format(java.util.Locale.ROOT, "%.3f", timeSum(server, time, entry.getKey())));
        System.out.println(line);
      }
    } finally {
      vm.detach();
    }
  }
}
